/**
 * What an engine is: something that turns SOPS bytes plus age identities into the plain,
 * ordered document (metadata removed). Two exist (DESIGN.md "Engines"): `native`, in process,
 * and `sops`, the real binary as a child process.
 */
import type { TreeMap } from '../sops/tree.js';
import type { SopsFormat } from '../sops/format.js';

export { SOPS_FORMATS, type SopsFormat } from '../sops/format.js';

export interface DecryptInput {
  /** The encrypted file's bytes, as read once by the caller (the native engine decrypts these). */
  bytes: Uint8Array;
  /** Absolute path of the same file (the sops engine hands the path to the binary). */
  path: string;
  format: SopsFormat;
  /** age secret keys (`AGE-SECRET-KEY-1…`), tried in order. Never logged, never on argv. */
  identities: readonly string[];
}

export interface DecryptEngine {
  readonly name: 'native' | 'sops';
  /** The decrypted document without its `sops` block, order kept. Throws AppError. */
  decrypt(input: DecryptInput): Promise<TreeMap>;
}
