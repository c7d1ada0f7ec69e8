/**
 * What an engine is: something that turns SOPS bytes plus age identities into the plain,
 * ordered document (metadata removed). Two exist (DESIGN.md "Engines"): `native`, in process,
 * and `sops`, the real binary as a child process.
 */
import type { TreeMap } from '../sops/tree.js';
import type { SopsFormat } from '../sops/format.js';

export { SOPS_FORMATS, type SopsFormat } from '../sops/format.js';

/** The kinds of key a bundle's metadata lists (public information, no decryption needed). */
export interface BundleKeyTypes {
  /** age recipients (`age1…`) listed in the bundle's metadata. */
  ageRecipients: readonly string[];
  /** Other key types present, e.g. `pgp`, `kms`, `gcp_kms`, `azure_kv`, `hc_vault`. */
  otherKeyTypes: readonly string[];
}

export interface DecryptInput {
  /** The encrypted file's bytes, as read once by the caller (the native engine decrypts these). */
  bytes: Uint8Array;
  /** Absolute path of the same file (the sops engine hands the path to the binary). */
  path: string;
  format: SopsFormat;
  /** age secret keys (`AGE-SECRET-KEY-1…`), tried in order. Never logged, never on argv. */
  identities: readonly string[];
}

/** What {@link DecryptEngine.open} gives: the document and, when the engine can see it, the data key. */
export interface OpenedBundle {
  document: TreeMap;
  /**
   * The bundle's data key, in process only, for pinning (DESIGN.md "Trust in the bundle"); null
   * when the engine cannot see it (the sops binary never hands it out).
   */
  dataKey: Uint8Array | null;
}

export interface DecryptEngine {
  readonly name: 'native' | 'sops';
  /** The decrypted document without its `sops` block, order kept. Throws AppError. */
  decrypt(input: DecryptInput): Promise<TreeMap>;
  /** {@link decrypt} plus the data key where the engine can see it. Absent: as `dataKey: null`. */
  open?(input: DecryptInput): Promise<OpenedBundle>;
}
