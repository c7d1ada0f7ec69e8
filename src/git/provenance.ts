/** Which commit the bundle bytes a sync read come from, from one `git log` (see bundle-state.ts). */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { GitResult } from './run.js';

export interface Provenance {
  /** The last commit that touched the path (not HEAD); null outside git, or when HEAD does not hold these bytes. */
  readonly commit: string | null;
  /** The bytes differ from HEAD's at the path (edited, untracked, deleted, no commit yet); null outside git. */
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
 * `git log -1 --raw HEAD -- spec`: the last commit that touched the path and, on its raw line, the
 * blob it left there. One process resolves HEAD once, so the commit and the blob belong together
 * (a checkout meanwhile cannot pair one commit's bytes with another's id). The log's path
 * simplification only skips commits that leave the path as it was, so that blob is also HEAD's.
 * A merge is shown only when its bytes differ from every parent's: `--cc` gives it one combined
 * raw line (`::`), whose last id is the merge's blob. (`-m` and `--diff-merges=first-parent`
 * would not do: they change which commits the log shows.) The other flags pin what a user's
 * config could change: the root commit's diff (`log.showRoot`), colour, signatures, abbreviated
 * ids, renames.
 */
export function lastTouchArgs(spec: string): string[] {
  return ['log', '-1', '--root', '--raw', '--no-abbrev', '--no-renames', '--no-color', '--no-show-signature', '--cc', '--format=%H', 'HEAD', '--', spec];
}

/**
 * Provenance of `bytes` from the answer to {@link lastTouchArgs}, inside a work tree: the commit
 * is named only when HEAD's blob at the path is exactly `bytes`. No commit yet, a path HEAD never
 * held or one it deleted: dirty, and nobody's commit.
 */
export function provenanceOf(log: GitResult, bytes: Uint8Array): Provenance {
  const lines = log.ok ? log.stdout.split('\n').filter((line) => line.length > 0) : [];
  const commit = lines.find((line) => OBJECT_ID.test(line));
  const raw = lines.filter((line) => line.startsWith(':'));
  // `:<mode> <mode> <old id> <new id> <status>\t<path>` (a merge: `::`, one mode and id per
  // parent, then the result's), exactly one for one literal path; the last id is the result's
  const blob = raw.length === 1 ? raw[0]!.split('\t')[0]!.split(' ').filter((field) => OBJECT_ID.test(field)).at(-1) : undefined;
  if (commit === undefined || blob === undefined) return { commit: null, dirty: true };
  if (gitBlobId(bytes, blob.length === 64 ? 64 : 40) !== blob) return { commit: null, dirty: true };
  return { commit, dirty: false };
}
