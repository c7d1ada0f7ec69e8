/**
 * The common case of age decryption on node:crypto alone: a file whose every recipient stanza is
 * X25519, opened with X25519 identities (age v1, https://age-encryption.org/v1). It exists so
 * that opening a sops data key does not load age-encryption's module graph (~50 modules).
 *
 * Rules:
 * - only X25519: a file with any other stanza type, or an identity of another type, is
 *   {@link NotNative} and the caller hands it to age-encryption (the post-quantum stanza, scrypt,
 *   plugins and grease all go there);
 * - strict like the reference implementation: canonical base64, 64-column lines, the header MAC
 *   checked before any payload byte is returned, STREAM chunks checked to the last one;
 * - errors ({@link AgeFailure}) say which stage failed and never carry key material.
 * Checked against the age project's test vectors (CCTV, npm `cctv-age`) and against
 * age-encryption on the same files (test/unit/sops/age-x25519.test.ts).
 */
import { createDecipheriv, createHmac, createPrivateKey, createPublicKey, diffieHellman, hkdfSync, timingSafeEqual, type KeyObject } from 'node:crypto';

/** Which stage refused the file, named as the age test vectors name them. */
export type AgeFailureKind = 'armor' | 'header' | 'no match' | 'hmac' | 'payload';

export class AgeFailure extends Error {
  constructor(readonly kind: AgeFailureKind, message: string) {
    super(`age: ${message}`);
    this.name = 'AgeFailure';
  }
}

/** This file or identity needs age-encryption (a stanza or identity type other than X25519). */
export class NotNative extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'NotNative';
  }
}

// ---- bech32 (BIP 173, without its 90-character limit, as age uses it) -------------------------

const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: readonly number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATORS[i] as number;
  }
  return chk;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (const c of hrp) out.push(c.charCodeAt(0) >> 5);
  out.push(0);
  for (const c of hrp) out.push(c.charCodeAt(0) & 31);
  return out;
}

function convertBits(data: readonly number[], from: number, to: number, pad: boolean): number[] | null {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const max = (1 << to) - 1;
  for (const v of data) {
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & max);
    }
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & max);
  } else if (bits >= from || ((acc << (to - bits)) & max) !== 0) return null;
  return out;
}

/** Decodes a bech32 string (all lower or all upper case); null when it is not valid bech32. */
export function bech32Decode(text: string): { hrp: string; data: Uint8Array } | null {
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) return null;
  const s = text.toLowerCase();
  const sep = s.lastIndexOf('1');
  if (sep < 1 || sep + 7 > s.length) return null;
  const hrp = s.slice(0, sep);
  for (const c of hrp) if (c.charCodeAt(0) < 33 || c.charCodeAt(0) > 126) return null;
  const values: number[] = [];
  for (const c of s.slice(sep + 1)) {
    const v = BECH32.indexOf(c);
    if (v < 0) return null;
    values.push(v);
  }
  if (polymod([...hrpExpand(hrp), ...values]) !== 1) return null;
  const bytes = convertBits(values.slice(0, -6), 5, 8, false);
  return bytes ? { hrp, data: Uint8Array.from(bytes) } : null;
}

export function bech32Encode(hrp: string, data: Uint8Array): string {
  const values = convertBits([...data], 8, 5, true) as number[];
  const mod = polymod([...hrpExpand(hrp), ...values, 0, 0, 0, 0, 0, 0]) ^ 1;
  const checksum = Array.from({ length: 6 }, (_, i) => (mod >> (5 * (5 - i))) & 31);
  return hrp + '1' + [...values, ...checksum].map((v) => BECH32[v]).join('');
}

// ---- X25519 identities ------------------------------------------------------------------------

// DER prefix of an X25519 private key (PKCS #8), RFC 8410
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');

export interface X25519Identity {
  readonly privateKey: KeyObject;
  /** The 32-byte public key. */
  readonly publicKey: Buffer;
  /** `age1…` */
  readonly recipient: string;
}

/**
 * Parses an `AGE-SECRET-KEY-1…` line. Throws {@link NotNative} for other identity types (e.g.
 * `AGE-SECRET-KEY-PQ-1…`) and a plain Error for a malformed X25519 identity.
 */
export function parseX25519Identity(line: string): X25519Identity {
  if (!line.startsWith('AGE-SECRET-KEY-1')) throw new NotNative('not an X25519 identity');
  const decoded = bech32Decode(line);
  if (!decoded || decoded.hrp !== 'age-secret-key-' || decoded.data.length !== 32 || line !== line.toUpperCase()) {
    throw new Error('malformed X25519 identity');
  }
  const { privateKey, publicKey } = importX25519(Buffer.from(decoded.data));
  return { privateKey, publicKey, recipient: bech32Encode('age', publicKey) };
}

const NO_PUBLIC_KEY = Buffer.alloc(32).toString('base64url');

/**
 * The key object of a raw X25519 private key, and its public key. A JWK import costs ~0.06 ms
 * where the PKCS #8 DER one costs ~0.7 ms (OpenSSL 3's decoders), on every sync. A JWK must
 * carry `x`, the public key we are about to derive: Node derives it from `d` and ignores the
 * placeholder given. Should a runtime ever check `x` (the import throws) or take it as given (the
 * derived key is the placeholder, an invalid all-zero point), the DER import is used instead.
 */
function importX25519(secret: Buffer): { privateKey: KeyObject; publicKey: Buffer } {
  try {
    const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: secret.toString('base64url'), x: NO_PUBLIC_KEY }, format: 'jwk' });
    const x = createPublicKey(privateKey).export({ format: 'jwk' }).x;
    if (typeof x === 'string' && x !== NO_PUBLIC_KEY) return { privateKey, publicKey: Buffer.from(x, 'base64url') };
  } catch {
    // the DER import below decides
  }
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, secret]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { privateKey, publicKey: Buffer.from(spki.subarray(spki.length - 32)) };
}

// ---- armor ------------------------------------------------------------------------------------

const ARMOR_BEGIN = '-----BEGIN AGE ENCRYPTED FILE-----';
const ARMOR_END = '-----END AGE ENCRYPTED FILE-----';
const ARMOR_COLUMNS = 64;
const PADDED_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes padded, canonical standard base64; null otherwise. */
function paddedBase64(text: string): Buffer | null {
  if (!PADDED_BASE64.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

/**
 * Removes age's ASCII armor (LF or CRLF lines; whitespace only around the whole block; every line
 * 64 columns but the last; padded canonical base64).
 */
export function dearmor(text: string): Uint8Array {
  const fail = (why: string): never => {
    throw new AgeFailure('armor', `invalid armor: ${why}`);
  };
  const trimmed = text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
  const lines = trimmed.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines[0] !== ARMOR_BEGIN) fail('missing BEGIN line');
  if (lines.length < 2 || lines[lines.length - 1] !== ARMOR_END) fail('missing END line');
  const body = lines.slice(1, -1);
  const chunks: Buffer[] = [];
  body.forEach((line, i) => {
    const last = i === body.length - 1;
    if (line.length > ARMOR_COLUMNS) fail('line too long');
    if (!last && line.length !== ARMOR_COLUMNS) fail('short line before the last one');
    if (last && line.length === 0) fail('empty last line');
    const bytes = paddedBase64(line);
    if (!bytes) fail('invalid base64');
    chunks.push(bytes as Buffer);
  });
  return Buffer.concat(chunks);
}

// ---- header -----------------------------------------------------------------------------------

const VERSION_LINE = 'age-encryption.org/v1';
const STANZA_COLUMNS = 64;
const UNPADDED_BASE64 = /^[A-Za-z0-9+/]*$/;

export interface Stanza {
  type: string;
  args: string[];
  body: Buffer;
}

interface Header {
  stanzas: Stanza[];
  /** The header up to and including `---`: what the MAC covers. */
  macInput: Buffer;
  mac: Buffer;
  /** Where the payload (nonce, then STREAM) starts. */
  payloadOffset: number;
}

/** Decodes canonical unpadded standard base64 (age's encoding); null otherwise. */
function unpaddedBase64(text: string): Buffer | null {
  if (!UNPADDED_BASE64.test(text) || text.length % 4 === 1) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64').replace(/=+$/, '') === text ? bytes : null;
}

function isArgument(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

function parseHeader(file: Uint8Array): Header {
  const fail = (why: string): never => {
    throw new AgeFailure('header', `invalid header: ${why}`);
  };
  const bytes = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  let pos = 0;
  const nextLine = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('unexpected end of header');
    const line = bytes.toString('latin1', pos, end);
    pos = end + 1;
    return line;
  };
  if (nextLine() !== VERSION_LINE) fail('unsupported version line');
  const stanzas: Stanza[] = [];
  for (;;) {
    const start = pos;
    const line = nextLine();
    if (line.startsWith('---')) {
      if (!line.startsWith('--- ')) fail('malformed MAC line');
      const mac = unpaddedBase64(line.slice(4));
      if (!mac || mac.length !== 32) fail('malformed MAC');
      return { stanzas, macInput: bytes.subarray(0, start + 3), mac: mac as Buffer, payloadOffset: pos };
    }
    if (!line.startsWith('-> ')) fail('expected a stanza');
    const args = line.slice(3).split(' ');
    if (!args.every(isArgument)) fail('malformed stanza arguments');
    const body: Buffer[] = [];
    for (;;) {
      const bodyLine = nextLine();
      if (bodyLine.length > STANZA_COLUMNS) fail('stanza line too long');
      const chunk = unpaddedBase64(bodyLine);
      if (!chunk) fail('malformed stanza body');
      body.push(chunk as Buffer);
      if (bodyLine.length < STANZA_COLUMNS) break;
    }
    stanzas.push({ type: args[0] as string, args: args.slice(1), body: Buffer.concat(body) });
  }
}

// ---- key schedule, X25519 stanza, STREAM ------------------------------------------------------

const FILE_KEY_BYTES = 16;
const X25519_INFO = 'age-encryption.org/v1/X25519';
const ZERO_NONCE = Buffer.alloc(12);

function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, 32));
}

function chachaOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Buffer | null {
  if (sealed.length < 16) return null;
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
  } catch {
    return null;
  }
}

/** The file key from one X25519 stanza, or null when it is for another recipient. */
function unwrapX25519(stanza: Stanza, identity: X25519Identity): Buffer | null {
  const share = stanza.args.length === 1 ? unpaddedBase64(stanza.args[0] as string) : null;
  if (!share || share.length !== 32) throw new AgeFailure('header', 'invalid X25519 stanza');
  if (stanza.body.length !== FILE_KEY_BYTES + 16) throw new AgeFailure('header', 'invalid X25519 stanza');
  // a JWK import of the share: ~0.02 ms, where the SPKI DER one costs ~0.2 ms
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: share.toString('base64url') }, format: 'jwk' });
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: identity.privateKey, publicKey });
  } catch {
    // OpenSSL refuses a low-order share (all-zero shared secret), as age requires
    throw new AgeFailure('header', 'invalid X25519 stanza: low-order share');
  }
  if (shared.every((b) => b === 0)) throw new AgeFailure('header', 'invalid X25519 stanza: low-order share');
  const wrapKey = hkdf(shared, Buffer.concat([share, identity.publicKey]), X25519_INFO);
  return chachaOpen(wrapKey, ZERO_NONCE, stanza.body);
}

const CHUNK = 64 * 1024;
const TAG = 16;

function decryptStream(fileKey: Uint8Array, payload: Uint8Array): Buffer {
  if (payload.length < 16) throw new AgeFailure('header', 'missing payload nonce');
  const key = hkdf(fileKey, payload.subarray(0, 16), 'payload');
  const data = payload.subarray(16);
  const out: Buffer[] = [];
  const nonce = Buffer.alloc(12);
  let offset = 0;
  for (let counter = 0; ; counter++) {
    const remaining = data.length - offset;
    const last = remaining <= CHUNK + TAG;
    if (remaining < TAG) throw new AgeFailure('payload', 'truncated payload');
    nonce.writeUIntBE(Math.floor(counter / 2 ** 32), 3, 4);
    nonce.writeUInt32BE(counter % 2 ** 32, 7);
    nonce[11] = last ? 1 : 0;
    const sealed = data.subarray(offset, offset + Math.min(remaining, CHUNK + TAG));
    const plain = chachaOpen(key, nonce, sealed);
    if (!plain) throw new AgeFailure('payload', 'payload authentication failed');
    if (last && plain.length === 0 && counter > 0) throw new AgeFailure('payload', 'empty last chunk');
    out.push(plain);
    offset += sealed.length;
    if (last) return Buffer.concat(out);
  }
}

/**
 * Decrypts a binary age file with X25519 identities. Throws {@link NotNative} when a stanza is
 * not X25519 (the caller then uses age-encryption), {@link AgeFailure} otherwise.
 */
export function decryptX25519(file: Uint8Array, identities: readonly X25519Identity[]): Buffer {
  const header = parseHeader(file);
  const other = header.stanzas.find((s) => s.type !== 'X25519');
  if (other) throw new NotNative('the file has a stanza other than X25519');
  let fileKey: Buffer | null = null;
  outer: for (const identity of identities) {
    for (const stanza of header.stanzas) {
      fileKey = unwrapX25519(stanza, identity);
      if (fileKey) break outer;
    }
  }
  if (!fileKey) throw new AgeFailure('no match', "no identity matched any of the file's recipients");
  const expected = createHmac('sha256', hkdf(fileKey, new Uint8Array(0), 'header')).update(header.macInput).digest();
  if (!timingSafeEqual(expected, header.mac)) throw new AgeFailure('hmac', 'bad header MAC');
  return decryptStream(fileKey, file.subarray(header.payloadOffset));
}
