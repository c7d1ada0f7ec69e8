/** Which commit a file comes from, and whether the work tree copy differs from it. */
import path from 'node:path';
import { runGit } from './run.js';

export interface Provenance {
  /** The last commit that touched the path (not HEAD); null outside git or when never committed. */
  readonly commit: string | null;
  /** The path differs from HEAD, is untracked, or was deleted; null outside git. */
  readonly dirty: boolean | null;
}

/** Turns an absolute path inside the work tree into the relative pathspec git expects. */
export function toPathspec(workTree: string, relPath: string): string {
  const rel = path.isAbsolute(relPath) ? path.relative(workTree, relPath) : relPath;
  return rel.split(path.sep).join('/');
}

/**
 * Provenance of `relPath` (relative to `workTree`, or absolute inside it).
 * `git log -1 -- path` walks history until the path was last touched: fast for a bundle that
 * changes often, slower on a huge history where it never changes.
 */
export async function provenance(workTree: string, relPath: string): Promise<Provenance> {
  const spec = toPathspec(workTree, relPath);
  const [log, status] = await Promise.all([
    runGit(workTree, ['log', '-1', '--format=%H', '--', spec]),
    runGit(workTree, ['status', '--porcelain', '-z', '--untracked-files=all', '--', spec]),
  ]);
  if (!status.ok) return { commit: null, dirty: null };
  const commit = log.ok ? log.stdout.trim() : '';
  return {
    commit: /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit) ? commit : null,
    dirty: status.stdout.length > 0,
  };
}
