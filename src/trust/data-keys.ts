/**
 * Trust in the bundle (DESIGN.md): the data keys accepted on this machine, per bundle path.
 *
 * SOPS proves only that a bundle was made with a recipient's *public* key: anyone who can push
 * can encrypt a new bundle with a new data key and a valid MAC. A bundle edited by the team
 * (`sops edit`, `sops updatekeys`, `rotate` without `--rotate-data-key`) keeps its data key, so
 * a data key this machine has not accepted is the sign of a bundle made from scratch.
 *
 * Rules:
 * - the first data key seen for a bundle path is accepted silently (trust on first use);
 * - the file `<home>/trust.json` holds only digests: sha256 over a domain label and the key, never
 *   the key itself; it is written through the publisher (0600 temp, fsync, rename), read bounded,
 *   refused when it is a symlink, not a regular file, or writable by someone else;
 * - a corrupt file is an error naming it, never "no pins" (that would re-open trust on first use).
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors.js';
import { readHandleUpTo } from '../fsx/read-bounded.js';
import { publish } from '../publish/publisher.js';
import { TRUST_FILE } from '../publish/home-names.js';
import { isConfigGrant, type ConfigGrant } from '../config/config-trust.js';

export { TRUST_FILE };

/** Domain separation: this digest is never equal to any other sha256 of the same bytes. */
const DIGEST_LABEL = 'mcp-secrets/data-key-pin/v1\0';

/** Digests kept per bundle path: the newest are kept when a long history of rotations exceeds it. */
const MAX_KEYS_PER_BUNDLE = 256;
const MAX_TRUST_BYTES = 4 * 1024 * 1024;

/** What {@link checkDataKey} decides for one bundle. */
export type DataKeyVerdict =
  /** No key was pinned for this bundle path yet: the caller pins this one. */
  | 'first-use'
  /** The key was accepted before. */
  | 'known'
  /** A key was pinned for this path and this one is not among the accepted ones. */
  | 'changed';

/** The trust file's content. Exported for the other trust records kept in it (config-grants.ts). */
export interface TrustFileData {
  kind: 'mcp-secrets-trust';
  version: 1;
  /** Absolute bundle path → accepted data key digests, oldest first. */
  dataKeys: Record<string, string[]>;
  /** Absolute `.mcp-secrets.yaml` path → the grant accepted for it (names, globs, providers; never values). */
  configs: Record<string, ConfigGrant>;
}

/** The pin digest of a data key: hex sha256 of a fixed label and the key. */
export function dataKeyDigest(dataKey: Uint8Array): string {
  return createHash('sha256').update(DIGEST_LABEL, 'utf8').update(dataKey).digest('hex');
}

function corrupt(file: string, why: string): AppError {
  return new AppError('E_PARSE', `the trust file is not valid (${why}): ${file}`, {
    hint: `it lists the data keys this machine accepted; remove ${file} to start again (the next sync then trusts the bundle it finds, as on a new machine)`,
  });
}

/**
 * The trust file of `home`, or null when there is none yet.
 *
 * @throws AppError `E_PARSE` (corrupt), `E_INSECURE_PATH` (symlink, writable by others), `E_WRITE` (unreadable).
 */
export async function readTrustFile(home: string): Promise<TrustFileData | null> {
  const file = path.join(home, TRUST_FILE);
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw new AppError('E_INSECURE_PATH', `the trust file is a symbolic link: ${file}`, { hint: `remove ${file}; the next sync records the data key again` });
    throw new AppError('E_WRITE', `cannot read the trust file ${file} (${code ?? 'error'})`, { hint: `check the permissions of ${home}`, cause: error });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw corrupt(file, 'not a regular file');
    const uid = process.getuid?.();
    if (uid !== undefined && (stat.uid !== uid || (stat.mode & 0o022) !== 0)) {
      throw new AppError('E_INSECURE_PATH', `the trust file can be changed by someone else: ${file}`, { hint: `remove ${file}; the next sync records the data key again` });
    }
    // sized by fstat: the limit is for a hostile file, not an allocation made on every sync
    const bytes = stat.size > MAX_TRUST_BYTES ? null : await readHandleUpTo(handle, stat.size, MAX_TRUST_BYTES);
    if (bytes === null) throw corrupt(file, `larger than ${MAX_TRUST_BYTES} bytes`);
    let data: unknown;
    try {
      data = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw corrupt(file, 'not JSON');
    }
    return checkShape(data, file);
  } finally {
    await handle.close();
  }
}

function checkShape(data: unknown, file: string): TrustFileData {
  if (typeof data !== 'object' || data === null) throw corrupt(file, 'not an object');
  const d = data as Partial<TrustFileData>;
  if (d.kind !== 'mcp-secrets-trust' || d.version !== 1) throw corrupt(file, 'unknown kind or version');
  if (typeof d.dataKeys !== 'object' || d.dataKeys === null || Array.isArray(d.dataKeys)) throw corrupt(file, 'dataKeys is not an object');
  const dataKeys: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const [bundle, digests] of Object.entries(d.dataKeys)) {
    if (!Array.isArray(digests) || !digests.every((x) => typeof x === 'string' && /^[0-9a-f]{64}$/.test(x))) throw corrupt(file, 'a digest list is malformed');
    dataKeys[bundle] = digests;
  }
  // absent in files written before config consent existed
  const configs: Record<string, ConfigGrant> = Object.create(null) as Record<string, ConfigGrant>;
  if (d.configs !== undefined) {
    if (typeof d.configs !== 'object' || d.configs === null || Array.isArray(d.configs)) throw corrupt(file, 'configs is not an object');
    for (const [config, grant] of Object.entries(d.configs)) {
      if (!isConfigGrant(grant)) throw corrupt(file, 'a config grant is malformed');
      configs[config] = grant;
    }
  }
  return { kind: 'mcp-secrets-trust', version: 1, dataKeys, configs };
}

/** An empty trust record, for a home that has none yet. */
export function emptyTrust(): TrustFileData {
  return { kind: 'mcp-secrets-trust', version: 1, dataKeys: {}, configs: {} };
}

/** The trust file's bytes (fixed key order, so equal trust gives byte-equal files). */
function trustBytes(trust: TrustFileData): Uint8Array {
  return Buffer.from(JSON.stringify({ kind: trust.kind, version: trust.version, dataKeys: { ...trust.dataKeys }, configs: { ...trust.configs } }, null, 2) + '\n', 'utf8');
}

/** Writes the whole trust file atomically, 0600, through the publisher. */
export async function writeTrustFile(home: string, trust: TrustFileData): Promise<void> {
  await publish(home, [{ name: TRUST_FILE, bytes: trustBytes(trust) }]);
}

/**
 * Whether `digest` is accepted for the bundle at `bundlePath` (absolute).
 *
 * @throws AppError `E_PARSE` (corrupt trust file), `E_INSECURE_PATH`, `E_WRITE` (unreadable).
 */
export async function checkDataKey(home: string, bundlePath: string, digest: string): Promise<DataKeyVerdict> {
  const trust = await readTrustFile(home);
  const accepted = trust?.dataKeys[bundlePath];
  if (accepted === undefined || accepted.length === 0) return 'first-use';
  return accepted.includes(digest) ? 'known' : 'changed';
}

/**
 * Adds `digest` to the data keys accepted for `bundlePath` (a no-op when it is there already).
 * Written atomically, 0600, through the publisher.
 *
 * @throws AppError as {@link checkDataKey}, and `E_WRITE` / `E_INSECURE_PATH` from the publisher.
 */
/**
 * The trust file's new bytes with `digest` accepted for `bundlePath`, or null when it already is.
 * For callers that publish it together with other files (sync: the pin is recorded exactly when
 * the outputs it vouches for are published, all or nothing).
 *
 * @throws AppError as {@link checkDataKey}.
 */
export async function trustFileWithKey(home: string, bundlePath: string, digest: string): Promise<Uint8Array | null> {
  if (!/^[0-9a-f]{64}$/.test(digest)) throw new TypeError('acceptDataKey: not a data key digest');
  const trust = (await readTrustFile(home)) ?? emptyTrust();
  const accepted = trust.dataKeys[bundlePath] ?? [];
  if (accepted.includes(digest)) return null;
  trust.dataKeys[bundlePath] = [...accepted, digest].slice(-MAX_KEYS_PER_BUNDLE);
  return trustBytes(trust);
}

/**
 * The trust file's new bytes with a data key and/or a repo-config grant recorded, or null when
 * nothing changes. For sync, which publishes it with the outputs those records vouch for.
 *
 * @throws AppError as {@link checkDataKey}.
 */
export async function trustFileWith(home: string, records: { dataKey?: { bundlePath: string; digest: string }; config?: { file: string; grant: ConfigGrant } }): Promise<Uint8Array | null> {
  const trust = (await readTrustFile(home)) ?? emptyTrust();
  let changed = false;
  if (records.dataKey) {
    const { bundlePath, digest } = records.dataKey;
    if (!/^[0-9a-f]{64}$/.test(digest)) throw new TypeError('trustFileWith: not a data key digest');
    const accepted = trust.dataKeys[bundlePath] ?? [];
    if (!accepted.includes(digest)) {
      trust.dataKeys[bundlePath] = [...accepted, digest].slice(-MAX_KEYS_PER_BUNDLE);
      changed = true;
    }
  }
  if (records.config) {
    trust.configs[records.config.file] = records.config.grant;
    changed = true;
  }
  return changed ? trustBytes(trust) : null;
}

export async function acceptDataKey(home: string, bundlePath: string, digest: string): Promise<void> {
  const bytes = await trustFileWithKey(home, bundlePath, digest);
  if (bytes !== null) await publish(home, [{ name: TRUST_FILE, bytes }]);
}

/**
 * `E_UNTRUSTED` for an intact bundle opened with a data key this machine has not accepted. It
 * carries the digest to accept in memory only (not in the message or details), so that
 * `status --ack` accepts exactly the key the person was told about, not whatever is checked out
 * by the time they answer.
 */
export class DataKeyChangedError extends AppError {
  /** The notice code the daemon shows for it. */
  static readonly NOTICE = 'DATA_KEY_CHANGED';
  declare readonly pendingDigest: string;
  declare readonly bundlePath: string;

  constructor(bundleRel: string, bundlePath: string, digest: string) {
    super('E_UNTRUSTED', `${bundleRel} was encrypted with a data key this machine has not accepted (a bundle made anew, not edited with sops); nothing was published, the last good outputs stay`, {
      hint: `check who changed it (\`git log -p -- ${bundleRel}\`); if it is the team's, accept it with \`mcp-secrets sync --accept-data-key\` (or \`mcp-secrets status --ack\` when the daemon runs)`,
      details: { bundle: bundleRel, notice: DataKeyChangedError.NOTICE },
    });
    Object.defineProperty(this, 'pendingDigest', { value: digest, enumerable: false });
    Object.defineProperty(this, 'bundlePath', { value: bundlePath, enumerable: false });
  }
}
