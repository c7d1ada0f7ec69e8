/**
 * Realistic fake credentials for scanner tests: right prefixes, lengths and alphabets, random
 * bodies from a seeded generator (so a failure can be replayed), never a real key. Nothing here
 * is a literal key, so the repository's own gitleaks scan stays quiet about this file.
 */

export const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const URLSAFE = `${ALNUM}_-`;
export const HEX = '0123456789abcdef';
/** bech32's data alphabet (age writes secret keys upper-case, recipients lower-case). */
export const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

/** A seeded generator of random strings (mulberry32): the same seed gives the same keys. */
export class FakeKeys {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  private next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** `length` characters drawn from `alphabet`. */
  chars(alphabet: string, length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[Math.floor(this.next() * alphabet.length)];
    return out;
  }

  gemini(): string {
    return `AIza${this.chars(URLSAFE, 35)}`;
  }

  /** Legacy user key: sk- and 48 letters or digits, with the T3BlbkFJ marker in the middle unless told not to. */
  openaiLegacy(withMarker = true): string {
    return withMarker ? `sk-${this.chars(ALNUM, 20)}T3BlbkFJ${this.chars(ALNUM, 20)}` : `sk-${this.chars(ALNUM, 48)}`;
  }

  /** Project, service-account or admin key in today's 160-odd character shape. */
  openaiScoped(kind: 'proj' | 'svcacct' | 'admin'): string {
    return `sk-${kind}-${this.chars(URLSAFE, 74)}T3BlbkFJ${this.chars(URLSAFE, 74)}`;
  }

  /** An older, shorter project key without the marker. */
  openaiScopedShort(kind: 'proj' | 'svcacct' | 'admin'): string {
    return `sk-${kind}-${this.chars(ALNUM, 48)}`;
  }

  /** sk-ant-api03- + body + AA; body 93 gives the usual 108 characters. */
  anthropic(body = 93): string {
    return `sk-ant-api03-${this.chars(URLSAFE, body)}AA`;
  }

  anthropicAdmin(body = 93): string {
    return `sk-ant-admin01-${this.chars(URLSAFE, body)}AA`;
  }

  zhipu(): string {
    return `${this.chars(HEX, 32)}.${this.chars(ALNUM, 16)}`;
  }

  ageSecret(postQuantum = false): string {
    return `AGE-SECRET-KEY-${postQuantum ? 'PQ-' : ''}1${this.chars(BECH32, 58).toUpperCase()}`;
  }

  ageRecipient(): string {
    return `age1${this.chars(BECH32, 58)}`;
  }

  base64(bytes: number): string {
    const raw = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i++) raw[i] = Math.floor(this.next() * 256);
    return raw.toString('base64');
  }

  /** A SOPS value as sops writes it: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`. */
  sopsValue(plaintextBytes = 24, type = 'str'): string {
    return `ENC[AES256_GCM,data:${this.base64(plaintextBytes)},iv:${this.base64(32)},tag:${this.base64(16)},type:${type}]`;
  }

  /** An armored age file's body lines (64 base64 characters each, the last one shorter). */
  armorBody(bytes = 180): string[] {
    return this.base64(bytes).match(/.{1,64}/g) ?? [];
  }
}

