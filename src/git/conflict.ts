/**
 * Is a file in a merge conflict? Either git says so (unmerged entries in the index) or the file
 * carries conflict markers (a conflict someone "resolved" with `git add` without editing, or a
 * bundle copied from a conflicted checkout).
 */
import path from 'node:path';
import { runGit } from './run.js';
import { READ_LIMITS, readBounded } from '../fsx/read-bounded.js';
import { toPathspec } from './provenance.js';

export type ConflictReason = 'markers' | 'unmerged';

export interface ConflictState {
  readonly conflicted: boolean;
  readonly reason: ConflictReason | null;
}

const START = /^<{7}(?: |\r?$)/;
const SEPARATOR = /^={7}\r?$/;
const END = /^>{7}(?: |\r?$)/;

/**
 * True when the text has a start marker line, then a separator line, then an end marker line
 * (git's default marker size of 7). One stray line of `=` alone is not a conflict.
 */
export function hasConflictMarkers(content: Uint8Array | string): boolean {
  const text = typeof content === 'string' ? content : Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('utf8');
  let stage = 0;
  for (const line of text.split('\n')) {
    if (stage === 0 && START.test(line)) stage = 1;
    else if (stage === 1 && SEPARATOR.test(line)) stage = 2;
    else if (stage === 2 && END.test(line)) return true;
  }
  return false;
}

/**
 * Conflict state of `relPath` in `workTree`. The index is asked first (authoritative while a
 * merge is stopped); then `content` (or the file on disk when not given) is scanned for markers.
 * Outside git only markers count. A missing file is not conflicted.
 */
export async function conflictState(workTree: string, relPath: string, content?: Uint8Array): Promise<ConflictState> {
  const spec = toPathspec(workTree, relPath);
  const unmerged = await runGit(workTree, ['ls-files', '-u', '-z', '--', spec]);
  if (unmerged.ok && unmerged.stdout.length > 0) return { conflicted: true, reason: 'unmerged' };
  let bytes = content;
  if (bytes === undefined) {
    try {
      bytes = await readBounded(path.resolve(workTree, relPath), { limit: READ_LIMITS.bundle, what: 'the bundle' });
    } catch {
      return { conflicted: false, reason: null };
    }
  }
  return hasConflictMarkers(bytes) ? { conflicted: true, reason: 'markers' } : { conflicted: false, reason: null };
}
