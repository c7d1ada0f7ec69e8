/**
 * Runs read-only git commands: `git -C <dir> …` through execa, never a shell.
 *
 * Rules: every command here is read-only and takes no optional locks (`GIT_OPTIONAL_LOCKS=0`),
 * so our own `git status` never creates `.git/index.lock` and wakes the watcher that called it.
 * Pathspecs are literal (`GIT_LITERAL_PATHSPECS=1`): a bundle path with `*` or `:` means itself.
 * Variables a git hook exports (GIT_DIR, GIT_WORK_TREE, …) are dropped so `-C` decides the repo.
 */
import { execa } from 'execa';
import { AppError } from '../errors.js';

/** Environment a hook may export that would override `-C`. */
const HOOK_VARIABLES = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_COMMON_DIR', 'GIT_OBJECT_DIRECTORY', 'GIT_PREFIX'] as const;

const GIT_ENV: Record<string, string | undefined> = {
  // git needs no age identity: keep it out of every git child's environment
  SOPS_AGE_KEY: undefined,
  GIT_OPTIONAL_LOCKS: '0',
  GIT_LITERAL_PATHSPECS: '1',
  GIT_TERMINAL_PROMPT: '0',
  ...Object.fromEntries(HOOK_VARIABLES.map((name) => [name, undefined])),
};

/** A git command can hang on a huge repo or a dead network mount; none of ours should take this long. */
const GIT_TIMEOUT_MS = 30_000;

export interface GitResult {
  ok: boolean;
  stdout: string;
}

/**
 * Runs `git -C dir ...args`. A non-zero exit is a normal answer (`ok: false`): "not a repo",
 * "no such path". Throws `E_NO_REPO` only when git itself cannot be started.
 */
export async function runGit(dir: string, args: readonly string[]): Promise<GitResult> {
  const result = await execa('git', ['-C', dir, ...args], {
    env: GIT_ENV,
    reject: false,
    stdin: 'ignore',
    timeout: GIT_TIMEOUT_MS,
    stripFinalNewline: false,
  });
  if (result.timedOut) {
    throw new AppError('E_NO_REPO', `git timed out after ${GIT_TIMEOUT_MS / 1000} s: git ${args[0] ?? ''} in ${dir}`, {
      hint: 'check that the repository is on a responsive disk, then retry',
      cause: result,
    });
  }
  if (result.exitCode === undefined) {
    throw new AppError('E_NO_REPO', 'git could not be run: git', { hint: 'install git and make sure it is on PATH', cause: result });
  }
  return { ok: result.exitCode === 0, stdout: String(result.stdout) };
}
