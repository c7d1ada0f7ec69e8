/** Which commit a file comes from, and whether the work tree copy differs from it. */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { runGit } from './run.js';

export interface Provenance {
  /** The last commit that touched the path (not HEAD); null outside git or when never committed. */
  readonly commit: string | null;
  /** The path differs from HEAD, is untracked, or was deleted; null outside git. */
  readonly dirty: boolean | null;
}

const OBJECT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** Turns an absolute path inside the work tree into the relative pathspec git expects. */
export function toPathspec(workTree: string, relPath: string): string {
  const rel = path.isAbsolute(relPath) ? path.relative(workTree, relPath) : relPath;
  return rel.split(path.sep).join('/');
}

/**
 * The id git gives a blob holding `bytes` (what `git hash-object` prints): sha1 for a 40-digit
 * repository, sha256 for a 64-digit one.
 */
export function gitBlobId(bytes: Uint8Array, idLength: 40 | 64): string {
  const hash = createHash(idLength === 64 ? 'sha256' : 'sha1');
  hash.update(`blob ${bytes.length}\0`);
  hash.update(bytes);
  return hash.digest('hex');
}

/**
 * Provenance of `relPath` (relative to `workTree`, or absolute inside it).
 *
 * With `bytes` (what the caller actually read and decrypted), the answer describes those bytes
 * and nothing else: HEAD is resolved once, and the commit is named only when HEAD's blob at the
 * path is exactly `bytes`; otherwise `{commit: null, dirty: true}`. A checkout between the read
 * and these git calls can therefore never pair one commit's values with another commit's id.
 *
 * Without `bytes`: the last commit that touched the path, and `git status` for dirty.
 * `git log -1 -- path` walks history until the path was last touched: fast for a bundle that
 * changes often, slower on a huge history where it never changes.
 */
export async function provenance(workTree: string, relPath: string, bytes?: Uint8Array): Promise<Provenance> {
  const spec = toPathspec(workTree, relPath);
  if (bytes !== undefined) return provenanceOfBytes(workTree, spec, bytes);
  const [log, status] = await Promise.all([
    runGit(workTree, ['log', '-1', '--format=%H', '--', spec]),
    runGit(workTree, ['status', '--porcelain', '-z', '--untracked-files=all', '--', spec]),
  ]);
  if (!status.ok) return { commit: null, dirty: null };
  const commit = log.ok ? log.stdout.trim() : '';
  return {
    commit: OBJECT_ID.test(commit) ? commit : null,
    dirty: status.stdout.length > 0,
  };
}

async function provenanceOfBytes(workTree: string, spec: string, bytes: Uint8Array): Promise<Provenance> {
  // One child answers both questions (a child is ~5 ms here, on the path from a change to fresh
  // outputs): is this a work tree ("true"), and HEAD's commit id, absent before the first commit
  // (then git exits 1 after printing "true"; outside any repo it prints nothing).
  const probe = await runGit(workTree, ['rev-parse', '--is-inside-work-tree', '-q', '--verify', 'HEAD^{commit}']);
  const [inside = '', head = ''] = probe.stdout.split('\n').map((line) => line.trim());
  if (inside !== 'true' || spec.startsWith('../') || spec === '..') return { commit: null, dirty: null };
  const headId = probe.ok ? head : '';
  if (!OBJECT_ID.test(headId)) return { commit: null, dirty: true }; // no commit yet
  // Both questions name the same commit id, so a checkout meanwhile cannot mix two commits.
  const [blob, log] = await Promise.all([
    runGit(workTree, ['rev-parse', '-q', '--verify', `${headId}:./${spec}`]),
    runGit(workTree, ['log', '-1', '--format=%H', headId, '--', spec]),
  ]);
  const blobId = blob.ok ? blob.stdout.trim() : '';
  if (!OBJECT_ID.test(blobId) || gitBlobId(bytes, blobId.length === 64 ? 64 : 40) !== blobId) return { commit: null, dirty: true };
  const commit = log.ok ? log.stdout.trim() : '';
  return { commit: OBJECT_ID.test(commit) ? commit : null, dirty: false };
}
