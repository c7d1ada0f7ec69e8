/**
 * Is the bundle in a merge conflict? Either git says so (unmerged entries in the index) or the
 * bytes carry conflict markers (a conflict someone "resolved" with `git add` without editing, or
 * a bundle copied from a conflicted checkout). The git question is asked in bundle-state.ts.
 */
import type { GitResult } from './run.js';

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
 * `git ls-files -u -d -z -- spec`: the path's unmerged index entries (stages 1–3). `-d` (deleted
 * files, listed at stage 0) adds nothing we read: it makes git refuse to run outside a work tree
 * (a bare repo, inside `.git`, no repo), so the same child also answers "is this a work tree?".
 * It only lstat()s the path, never reads it through a filter.
 */
export function indexEntriesArgs(spec: string): string[] {
  return ['ls-files', '-u', '-d', '-z', '--', spec];
}

/** True when the answer to {@link indexEntriesArgs} lists an entry at a stage other than 0. */
export function hasUnmergedEntries(entries: GitResult): boolean {
  // each record: `<mode> <id> <stage>\t<path>`
  return entries.ok && entries.stdout.split('\0').some((record) => /^\d+ [0-9a-f]+ [1-3]\t/.test(record));
}

/** Unmerged in the index first (authoritative while a merge is stopped), then markers in `bytes`. */
export function conflictOf(entries: GitResult, bytes: Uint8Array): ConflictState {
  if (hasUnmergedEntries(entries)) return { conflicted: true, reason: 'unmerged' };
  return hasConflictMarkers(bytes) ? { conflicted: true, reason: 'markers' } : { conflicted: false, reason: null };
}
