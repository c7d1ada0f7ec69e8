/**
 * The tree walks of sops.go `Tree.Decrypt` / `Tree.Encrypt`: every value in document order, its
 * AAD (map keys joined by `:` plus `:`; list indices add nothing), whether it is encrypted, and
 * the bytes it adds to the MAC. Nulls are never encrypted nor hashed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError, sanitizeForMessage } from '../errors.js';
import { CipherFailure, macBytesOf, openValue, plaintextOf, sealValue, typedValue } from './cipher.js';
import { NO_MATCHES, type PathMatches, type RuleSet } from './rules.js';
import { isTreeMap, type TreeMap, type TreeValue } from './tree.js';

/** sha256("sops"): sops's `MACOnlyEncryptedInitialization`, hashed first with `mac_only_encrypted`. */
const MAC_ONLY_ENCRYPTED_SEED = createHash('sha256').update('sops').digest();

/** Collects what the MAC hashes, in order. */
export class MacInput {
  readonly chunks: Uint8Array[] = [];
  constructor(readonly macOnlyEncrypted: boolean) {
    if (macOnlyEncrypted) this.chunks.push(MAC_ONLY_ENCRYPTED_SEED);
  }
  add(bytes: Uint8Array, encrypted: boolean): void {
    if (!this.macOnlyEncrypted || encrypted) this.chunks.push(bytes);
  }
  /** Upper-case hex SHA-512, as sops stores it. */
  digest(): string {
    const h = createHash('sha512');
    for (const c of this.chunks) h.update(c);
    return h.digest('hex').toUpperCase();
  }
}

/** Constant-time comparison of two MAC strings. */
export function macEquals(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

function describePath(path: readonly string[]): string {
  return path.length === 0 ? '(root)' : sanitizeForMessage(path.join('.'), 200);
}

function valueError(displayName: string, path: readonly string[], failure: CipherFailure | 'cleartext'): AppError {
  const where = describePath(path);
  const reason =
    failure === 'cleartext'
      ? 'it should be encrypted but is stored in clear text'
      : failure.reason === 'auth'
        ? 'AES-GCM authentication failed'
        : failure.reason === 'format'
          ? 'it is not a valid ENC[AES256_GCM,…] value'
          : 'its plaintext does not match its declared type';
  return new AppError('E_DECRYPT', `cannot decrypt ${where} in ${displayName}: ${reason}`, {
    hint: 'the value was changed after encryption (tampering, a bad merge or a hand edit); restore the file from git and re-encrypt with sops',
    details: { file: displayName, path: [...path] },
  });
}

export interface DecryptWalk {
  key: Uint8Array;
  rules: RuleSet;
  mac: MacInput;
  displayName: string;
  /** Binary store: `str` values stay bytes. */
  rawStrings: boolean;
}

/** Decrypts a whole document (a new tree; the input is untouched). Throws E_DECRYPT naming the path. */
export function decryptTree(document: TreeMap, walk: DecryptWalk): TreeMap {
  return decryptMap(document, [], '', NO_MATCHES, walk);
}

function decryptMap(map: TreeMap, path: string[], prefix: string, matches: PathMatches, walk: DecryptWalk): TreeMap {
  const out: TreeMap = new Map();
  for (const [key, value] of map) {
    path.push(key);
    out.set(key, decryptValue(value, path, prefix + key + ':', walk.rules.descend(matches, key), walk));
    path.pop();
  }
  return out;
}

function decryptValue(value: TreeValue, path: string[], aad: string, matches: PathMatches, walk: DecryptWalk): TreeValue {
  if (value === null) return null;
  if (isTreeMap(value)) return decryptMap(value, path, aad, matches, walk);
  if (Array.isArray(value)) return value.map((item) => decryptValue(item, path, aad, matches, walk));
  const encrypted = walk.rules.shouldEncrypt(matches);
  if (!encrypted) {
    walk.mac.add(macBytesOf(value), false);
    return value;
  }
  if (value === '') {
    walk.mac.add(new Uint8Array(0), true);
    return walk.rawStrings ? new Uint8Array(0) : '';
  }
  if (typeof value !== 'string') throw valueError(walk.displayName, path, 'cleartext');
  try {
    const opened = openValue(value, walk.key, aad);
    if (opened.type === 'comment') throw new CipherFailure('type');
    const typed = typedValue(opened.bytes, opened.type, walk.rawStrings);
    walk.mac.add(typed.macBytes, true);
    return typed.value;
  } catch (error) {
    if (error instanceof CipherFailure) throw valueError(walk.displayName, path, error);
    throw error;
  }
}

export interface EncryptWalk {
  key: Uint8Array;
  rules: RuleSet;
  mac: MacInput;
  /** Binary store: bytes are written with type `str`, as sops writes the file it read. */
  bytesAsStr: boolean;
}

/** Encrypts a plain document (a new tree) and feeds the MAC, as `sops encrypt` does. */
export function encryptTree(document: TreeMap, walk: EncryptWalk): TreeMap {
  return encryptMap(document, '', NO_MATCHES, walk);
}

function encryptMap(map: TreeMap, prefix: string, matches: PathMatches, walk: EncryptWalk): TreeMap {
  const out: TreeMap = new Map();
  for (const [key, value] of map) out.set(key, encryptValue(value, prefix + key + ':', walk.rules.descend(matches, key), walk));
  return out;
}

function encryptValue(value: TreeValue, aad: string, matches: PathMatches, walk: EncryptWalk): TreeValue {
  if (value === null) return null;
  if (isTreeMap(value)) return encryptMap(value, aad, matches, walk);
  if (Array.isArray(value)) return value.map((item) => encryptValue(item, aad, matches, walk));
  const encrypted = walk.rules.shouldEncrypt(matches);
  walk.mac.add(macBytesOf(value), encrypted);
  if (!encrypted) return value;
  const { bytes, type } = plaintextOf(value);
  // sops leaves empty values as they are: there is nothing to hide
  if (bytes.length === 0) return '';
  return sealValue(bytes, type === 'bytes' && walk.bytesAsStr ? 'str' : type, walk.key, aad);
}
