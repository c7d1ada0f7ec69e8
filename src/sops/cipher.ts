/**
 * The `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` value cipher (sops `aes/cipher.go`):
 * AES-256-GCM, a 32-byte random IV, a 16-byte tag, and the value's key path as additional data.
 * Failures are {@link CipherFailure}s without any value text; callers add the key path.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { formatGoFloat, parseGoBool, parseGoFloat, parseGoInt } from './gofmt.js';
import type { Scalar } from './tree.js';

export type ValueType = 'str' | 'int' | 'float' | 'bool' | 'bytes' | 'comment';

const ENC_VALUE = /^ENC\[AES256_GCM,data:([A-Za-z0-9+/]*={0,2}),iv:([A-Za-z0-9+/]+={0,2}),tag:([A-Za-z0-9+/]+={0,2}),type:(str|int|float|bool|bytes|comment)\]$/;
const IV_BYTES = 32;
const TAG_BYTES = 16;

/** Why a value could not be opened: its text is not an ENC[] value, or GCM rejected it. */
export class CipherFailure extends Error {
  constructor(readonly reason: 'format' | 'auth' | 'type') {
    super(reason === 'format' ? 'not a sops ENC[] value' : reason === 'auth' ? 'AES-GCM authentication failed' : 'plaintext does not match its declared type');
    this.name = 'CipherFailure';
  }
}

export function looksEncrypted(text: string): boolean {
  return text.startsWith('ENC[AES256_GCM,');
}

function strictBase64(text: string): Buffer {
  if (text.length % 4 !== 0) throw new CipherFailure('format');
  return Buffer.from(text, 'base64');
}

/** Opens one ENC[] value: its raw plaintext bytes and declared type. */
export function openValue(text: string, key: Uint8Array, aad: string): { bytes: Buffer; type: ValueType } {
  const m = ENC_VALUE.exec(text);
  if (!m) throw new CipherFailure('format');
  const data = strictBase64(m[1] ?? '');
  const iv = strictBase64(m[2] ?? '');
  const tag = strictBase64(m[3] ?? '');
  if (tag.length !== TAG_BYTES || iv.length === 0) throw new CipherFailure('format');
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  let bytes: Buffer;
  try {
    bytes = Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    throw new CipherFailure('auth');
  }
  return { bytes, type: m[4] as ValueType };
}

/** Seals raw plaintext bytes as an ENC[] value with a fresh random IV. */
export function sealValue(plaintext: Uint8Array, type: ValueType, key: Uint8Array, aad: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const tag = cipher.getAuthTag();
  return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${tag.toString('base64')},type:${type}]`;
}

/**
 * Turns opened bytes into the tree value sops would produce, plus the bytes the MAC hashes
 * (sops hashes the parsed value re-formatted, e.g. a bool as `True`/`False`).
 */
export function typedValue(bytes: Buffer, type: ValueType, rawStrings: boolean): { value: Scalar; macBytes: Uint8Array } {
  switch (type) {
    case 'str':
      return rawStrings ? { value: new Uint8Array(bytes), macBytes: bytes } : { value: bytes.toString('utf8'), macBytes: bytes };
    case 'bytes':
      return { value: new Uint8Array(bytes), macBytes: bytes };
    case 'int': {
      const parsed = parseGoInt(bytes.toString('utf8'));
      if (!parsed) throw new CipherFailure('type');
      return { value: parsed.value, macBytes: Buffer.from(parsed.text) };
    }
    case 'float': {
      const n = parseGoFloat(bytes.toString('utf8'));
      if (n === null) throw new CipherFailure('type');
      return { value: n, macBytes: Buffer.from(formatGoFloat(n)) };
    }
    case 'bool': {
      const b = parseGoBool(bytes.toString('utf8'));
      if (b === null) throw new CipherFailure('type');
      return { value: b, macBytes: Buffer.from(b ? 'True' : 'False') };
    }
    case 'comment':
      return { value: bytes.toString('utf8'), macBytes: bytes };
  }
}

/** The plaintext bytes and type sops writes for a value (and hashes into the MAC). */
export function plaintextOf(value: Exclude<Scalar, null>): { bytes: Uint8Array; type: ValueType } {
  if (typeof value === 'string') return { bytes: Buffer.from(value, 'utf8'), type: 'str' };
  if (typeof value === 'boolean') return { bytes: Buffer.from(value ? 'True' : 'False'), type: 'bool' };
  if (typeof value === 'number') {
    const integral = Number.isSafeInteger(value) && !Object.is(value, -0);
    return { bytes: Buffer.from(integral ? String(value) : formatGoFloat(value)), type: integral ? 'int' : 'float' };
  }
  return { bytes: value, type: 'bytes' };
}

/** The bytes the MAC hashes for a cleartext (not encrypted) value: sops `ToBytes`. */
export function macBytesOf(value: Exclude<Scalar, null>): Uint8Array {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (typeof value === 'boolean') return Buffer.from(value ? 'True' : 'False');
  if (typeof value === 'number') return Buffer.from(formatGoFloat(value));
  return value;
}
