/**
 * Runs read-only git commands: `git -C <dir> …` through node:child_process, never a shell.
 *
 * Rules: every command here is read-only and takes no optional locks (`GIT_OPTIONAL_LOCKS=0`),
 * so our own `git status` never creates `.git/index.lock` and wakes the watcher that called it.
 * Pathspecs are literal (`GIT_LITERAL_PATHSPECS=1`): a bundle path with `*` or `:` means itself.
 * Variables a git hook exports (GIT_DIR, GIT_WORK_TREE, …) are dropped so `-C` decides the repo.
 * node:child_process, not execa: `sync` starts three git children and execa costs ~100 modules.
 */
import { spawn } from 'node:child_process';
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
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...process.env, ...GIT_ENV })) if (value !== undefined) env[name] = value;
  const outcome = await new Promise<{ code: number | null; stdout: string; timedOut: boolean; spawnError?: Error }>((resolve) => {
    const child = spawn('git', ['-C', dir, ...args], { env, stdio: ['ignore', 'pipe', 'ignore'], shell: false });
    const chunks: Buffer[] = [];
    let timedOut = false;
    let spawnError: Error | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, GIT_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', (error) => {
      spawnError = error;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(chunks).toString('utf8'), timedOut, spawnError });
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
  return { ok: outcome.code === 0, stdout: outcome.stdout };
}
