/** What one sync produces, shared by the one-shot `sync` command and the daemon. */
import type { IdentitySource, StatusOutput } from '../ipc/status.js';
import type { OutputFormat } from '../config/repo-config.js';

/**
 * One published output. `sha256` (of plaintext) and `entriesDigest` (of the names and values it
 * renders) stay in the process: never in a reply or a log.
 */
export interface PublishedOutput {
  kind: StatusOutput['kind'];
  format: OutputFormat;
  /** Its name in home. */
  file: string;
  path: string;
  sha256: string;
  entriesDigest: string;
}

export interface SyncSuccess {
  /** Absolute path of the bundle. */
  sourcePath: string;
  sourceSha256: string;
  commit: string | null;
  dirty: boolean | null;
  entries: number;
  secretsVersion: string | null;
  outputs: PublishedOutput[];
  /** Output paths rewritten by this sync, and those left alone because they were byte-equal. */
  written: string[];
  unchanged: string[];
  /** Outputs deleted because the repo config no longer lists them. */
  removed: string[];
  warnings: string[];
  /** The identity that opened the bundle, and held identities that open neither it nor `.sops.yaml`. */
  identity: { source: IdentitySource; recipients: string[]; opensNothing: string[] };
  /** The age recipients the bundle is encrypted to (public keys). */
  bundleRecipients: string[];
  /** The age recipients `.sops.yaml` lists (null when the repo has none). */
  sopsConfigRecipients: string[] | null;
  /**
   * What the data key pin said (DESIGN.md "Trust in the bundle"): `first-use` (none was recorded
   * for this bundle path: this one is now), `known`, `accepted` (a new key accepted by the caller),
   * `not-pinned` (the sops binary opened it and does not hand out the key).
   */
  dataKeyPin: 'first-use' | 'known' | 'accepted' | 'not-pinned';
  durationMs: number;
  /**
   * The decrypted values, kept only in memory so the log redactor can mask them.
   * Never serialised: the daemon strips it before anything leaves the process.
   */
  secretValues: string[];
}
