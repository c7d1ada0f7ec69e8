/**
 * Runs git commands: `git -C <dir> …` through node:child_process, never a shell.
 *
 * {@link runGit} is the product's runner, and every command it runs is read-only and takes no
 * optional locks (`GIT_OPTIONAL_LOCKS=0`), so our own `git status` never creates `.git/index.lock`
 * and wakes the watcher that called it. Pathspecs are literal (`GIT_LITERAL_PATHSPECS=1`): a
 * bundle path with `*` or `:` means itself. Variables a git hook exports (GIT_DIR, GIT_WORK_TREE,
 * …) are dropped so `-C` decides the repo.
 * {@link spawnGit} is the child-process step under it, with the caller's environment: the demo
 * (which commits to the sample repo it made) and the tests' git helper run git through it too.
 * node:child_process, not execa: `sync` starts two git children and execa costs ~100 modules.
 */
import { spawn } from 'node:child_process';
import { AppError } from '../errors.js';

/** Environment a hook may export that would override `-C`. */
const HOOK_VARIABLES = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_COMMON_DIR', 'GIT_OBJECT_DIRECTORY', 'GIT_PREFIX'] as const;

const READ_ONLY_ENV: Readonly<Record<string, string | undefined>> = {
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

/** What a git child gave back: its exit code and both streams as text. */
export interface GitOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `git -C dir ...args` with `process.env` plus `env` (a variable set to undefined is
 * removed). A non-zero exit is an answer (`code`), not an error.
 *
 * @throws AppError `E_NO_REPO` when git cannot be started or runs longer than 30 s.
 */
export async function spawnGit(dir: string, args: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<GitOutput> {
  const childEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...process.env, ...env })) if (value !== undefined) childEnv[name] = value;
  const outcome = await new Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean; spawnError?: Error }>((resolve) => {
    const child = spawn('git', ['-C', dir, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], shell: false });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let spawnError: Error | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, GIT_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => {
      spawnError = error;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut, spawnError });
    });
  });
  if (outcome.timedOut) {
    throw new AppError('E_NO_REPO', `git timed out after ${GIT_TIMEOUT_MS / 1000} s: git ${args[0] ?? ''} in ${dir}`, {
      hint: 'check that the repository is on a responsive disk, then retry',
    });
  }
  if (outcome.spawnError || outcome.code === null) {
    throw new AppError('E_NO_REPO', 'git could not be run: git', { hint: 'install git and make sure it is on PATH', cause: outcome.spawnError });
  }
  return { code: outcome.code, stdout: outcome.stdout, stderr: outcome.stderr };
}

/**
 * Runs the read-only `git -C dir ...args` (see the module rules). A non-zero exit is a normal
 * answer (`ok: false`): "not a repo", "no such path". Throws `E_NO_REPO` only when git itself
 * cannot be started or hangs.
 */
export async function runGit(dir: string, args: readonly string[]): Promise<GitResult> {
  const { code, stdout } = await spawnGit(dir, args, READ_ONLY_ENV);
  return { ok: code === 0, stdout };
}
