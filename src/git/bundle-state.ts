/**
 * What a sync asks git about the bundle bytes it read: are they in a merge conflict, and which
 * commit do they come from. Two read-only children, started together: on the path from a change
 * to fresh outputs each child costs a fork of the daemon (~3 ms of its main thread here), so the
 * questions are packed into as few children as git allows (conflict.ts, provenance.ts).
 */
import { runGit } from './run.js';
import { conflictOf, indexEntriesArgs, type ConflictState } from './conflict.js';
import { lastTouchArgs, provenanceOf, toPathspec, type Provenance } from './provenance.js';

export interface BundleGitState {
  readonly conflict: ConflictState;
  readonly provenance: Provenance;
}

/**
 * Git's view of `bytes`, the content the caller read from `relPath` (relative to `workTree`, or
 * absolute inside it). Outside a work tree only conflict markers count, and the provenance is
 * unknown (`null`s).
 */
export async function bundleGitState(workTree: string, relPath: string, bytes: Uint8Array): Promise<BundleGitState> {
  const spec = toPathspec(workTree, relPath);
  const [entries, log] = await Promise.all([runGit(workTree, indexEntriesArgs(spec)), runGit(workTree, lastTouchArgs(spec))]);
  const inWorkTree = entries.ok && !spec.startsWith('../') && spec !== '..';
  return {
    conflict: conflictOf(entries, bytes),
    provenance: inWorkTree ? provenanceOf(log, bytes) : { commit: null, dirty: null },
  };
}
