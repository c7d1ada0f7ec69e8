/**
 * Where a repository keeps things: its work tree, its per-worktree git dir (HEAD, index,
 * index.lock) and its common dir (refs, packed-refs). Linked worktrees, submodules and
 * `--separate-git-dir` repos have a `.git` file pointing elsewhere; git resolves it for us.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { runGit } from './run.js';
import { READ_LIMITS, readBoundedText } from '../fsx/read-bounded.js';

export interface GitLayout {
  /** Top level of the work tree, as git prints it (symlinks resolved). */
  readonly workTree: string;
  /** The per-worktree git dir: HEAD, index, index.lock, MERGE_HEAD live here. */
  readonly gitDir: string;
  /** The shared git dir: refs/, packed-refs. Equal to gitDir in a plain repo. */
  readonly commonDir: string;
}

function lines(stdout: string): string[] {
  return stdout.split('\n').filter((line) => line.length > 0);
}

/** The git top level holding `cwd`, or null when `cwd` is not inside a work tree (or does not exist). */
export async function findRepoRoot(cwd: string): Promise<string | null> {
  const result = await runGit(cwd, ['rev-parse', '--show-toplevel']);
  const top = result.ok ? lines(result.stdout)[0] : undefined;
  return top === undefined ? null : path.resolve(top);
}

/**
 * The layout of the work tree holding `workTree`, or null outside git (and in bare repos).
 * Paths are absolute; `--git-common-dir` prints a path relative to the work tree on some git
 * versions, so it is resolved against it.
 */
export async function gitLayout(workTree: string): Promise<GitLayout | null> {
  const result = await runGit(workTree, ['rev-parse', '--show-toplevel', '--absolute-git-dir', '--git-common-dir']);
  if (!result.ok) return null;
  const [top, gitDir, commonDir] = lines(result.stdout);
  if (top === undefined || gitDir === undefined || commonDir === undefined) return null;
  return Object.freeze({
    workTree: path.resolve(top),
    gitDir: path.resolve(gitDir),
    // rev-parse ran with -C workTree, so a relative answer is relative to it.
    commonDir: path.resolve(workTree, commonDir),
  });
}

/**
 * The ref HEAD points at (`refs/heads/main`), read from the HEAD file without running git.
 * Null when HEAD is detached (a commit id) or unreadable.
 */
export async function currentBranchRef(layout: GitLayout): Promise<string | null> {
  let head: string;
  try {
    head = await readBoundedText(path.join(layout.gitDir, 'HEAD'), { limit: READ_LIMITS.gitRef, followSymlinks: true, what: 'git HEAD' });
  } catch {
    return null;
  }
  const match = /^ref: (refs\/\S+)\s*$/.exec(head);
  return match?.[1] ?? null;
}

/** The file a loose ref lives in (it may not exist when the ref is packed or unborn). */
export function refFilePath(layout: GitLayout, ref: string): string {
  return path.join(layout.commonDir, ...ref.split('/'));
}

export type PendingOperation = 'merge' | 'rebase' | 'cherry-pick' | 'revert' | null;

export interface OperationState {
  /** `index.lock` exists: a git command is writing right now (or crashed and left it behind). */
  readonly writing: boolean;
  /**
   * A multi-step operation that has started and not finished, possibly stopped on a conflict and
   * waiting for the user for hours. Informative only: never wait for it to end.
   */
  readonly pending: PendingOperation;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/** The path of the index lock git holds while it writes the index, the work tree or refs. */
export function indexLockPath(layout: GitLayout): string {
  return path.join(layout.gitDir, 'index.lock');
}

/** What git is doing in this work tree: writing now, and which operation (if any) is pending. */
export async function operationState(layout: GitLayout): Promise<OperationState> {
  const at = (name: string) => exists(path.join(layout.gitDir, name));
  const [writing, rebaseMerge, rebaseApply, merge, cherryPick, revert] = await Promise.all([
    exists(indexLockPath(layout)),
    at('rebase-merge'),
    at('rebase-apply'),
    at('MERGE_HEAD'),
    at('CHERRY_PICK_HEAD'),
    at('REVERT_HEAD'),
  ]);
  const pending: PendingOperation = rebaseMerge || rebaseApply ? 'rebase' : merge ? 'merge' : cherryPick ? 'cherry-pick' : revert ? 'revert' : null;
  return { writing, pending };
}

/**
 * True while git is writing: `index.lock` exists. A merge or rebase stopped on a conflict
 * (MERGE_HEAD, rebase-merge/) is NOT "in progress" here: it can stay for hours and must not
 * block a sync; see {@link operationState} for that.
 */
export async function isOperationInProgress(layout: GitLayout): Promise<boolean> {
  return exists(indexLockPath(layout));
}
