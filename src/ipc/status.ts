/**
 * The status document (DESIGN.md "Status document"): what the daemon tells every client.
 * It never carries a secret value nor any digest of plaintext: only names of files, the hash of
 * the encrypted bundle, whether each output is intact, counts, codes and public age recipients.
 */

export const PROTOCOL_VERSION = 1;

export const DAEMON_STATES = ['starting', 'fresh', 'stale', 'syncing', 'error', 'conflict', 'locked', 'missing'] as const;
export type DaemonState = (typeof DAEMON_STATES)[number];

export interface StatusError {
  code: string;
  message: string;
}

export interface StatusSource {
  path: string;
  exists: boolean;
  sha256: string | null;
  commit: string | null;
  dirty: boolean | null;
}

export interface StatusLastSync {
  at: string;
  ok: boolean;
  durationMs: number;
  sourceSha256: string | null;
  error: StatusError | null;
}

/** What the last change hook of an output did (DESIGN.md "Consumers"; docs/ipc-protocol.md). */
export interface StatusHook {
  outcome: 'ok' | 'failed' | 'timeout';
  /** The hook's exit code (null when it was killed or could not start, or for a signal hook). */
  exitCode: number | null;
  /** When it finished (ISO-8601). */
  at: string;
}

export interface StatusOutput {
  /** `env`, `console` (SecretStore) or `json`: the format's family. */
  kind: 'env' | 'console' | 'json';
  /** The repo config's format: `env`, `secretstore` or `json`. */
  format: 'env' | 'secretstore' | 'json';
  path: string;
  /**
   * The file on disk is what the last good sync published, with the mode (0600), owner and link
   * count (1) it was published with. False when none was published yet, or after a change by
   * someone else that the daemon has not repaired (yet).
   */
  intact: boolean;
  /** The last change hook run for this output since the daemon started; absent when none ran. */
  hook?: StatusHook;
}

export type IdentitySource = 'keychain' | 'env' | 'file' | 'none';

export interface StatusIdentity {
  /** Where the identity named in `recipients` was found; `none` when no identity was found. */
  source: IdentitySource;
  /** Opened the bundle: the identities that did. Otherwise: those found and tried (public keys only). */
  recipients: string[];
  /** Whether `recipients` open the bundle on disk; null before the first attempt. */
  opens: boolean | null;
  /**
   * Identities held that open nothing yet: recipients of neither the bundle nor `.sops.yaml`
   * (e.g. a rotated key imported before the pull that brings it).
   */
  opensNothing: string[];
}

export interface StatusNotice {
  code: string;
  message: string;
  since: string;
}

export interface StatusDaemonInfo {
  pid: number;
  version: string;
  startedAt: string;
  socket: string;
}

export interface StatusDocument {
  protocol: number;
  state: DaemonState;
  fresh: boolean;
  secretsVersion: string | null;
  source: StatusSource;
  lastSync: StatusLastSync | null;
  outputs: StatusOutput[];
  entries: number;
  identity: StatusIdentity;
  notices: StatusNotice[];
  daemon: StatusDaemonInfo;
}
