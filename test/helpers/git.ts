/**
 * Real git repositories for tests, independent of the machine's git config: no system or global
 * config, a fixed identity, `main` as the first branch, never a prompt or an editor.
 * Commands run through the product's own child-process step (`spawnGit`, src/git/run.ts) with
 * this environment; the product's read-only `runGit` is not used here, as tests also write.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnGit } from '../../src/git/run.js';

/** The git environment of every test repo, and of every CLI child a test starts (`isolatedEnv`). */
export const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: os.devNull,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
};

/** Never wait for a person: no credential prompt, no editor for merge messages. */
const NON_INTERACTIVE = { GIT_TERMINAL_PROMPT: '0', GIT_EDITOR: 'true', GIT_MERGE_AUTOEDIT: 'no' };

/**
 * Makes git in this process (and the code under test, which runs git with `process.env`) ignore
 * the machine's git config. For in-process tests; ava gives each test file its own worker.
 */
export function isolateGitConfig(): void {
  Object.assign(process.env, GIT_ENV);
  // Never discover a repo above the temp dirs (a developer's /tmp could sit inside one).
  process.env.GIT_CEILING_DIRECTORIES = os.tmpdir();
}

/** What a git command gave back, its stdout without the last newline. */
export interface GitAnswer {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs `git -C dir ...args` and returns its answer whatever the exit code (a merge expected to conflict, say). */
export async function tryGit(dir: string, args: readonly string[]): Promise<GitAnswer> {
  const r = await spawnGit(dir, args, { ...GIT_ENV, ...NON_INTERACTIVE });
  return { exitCode: r.code, stdout: r.stdout.replace(/\n$/, ''), stderr: r.stderr };
}

/**
 * Runs `git -C dir ...args`; returns stdout without the last newline.
 * @throws Error with git's stderr when git exits non-zero.
 */
export async function git(dir: string, args: readonly string[]): Promise<string> {
  const r = await tryGit(dir, args);
  if (r.exitCode !== 0) throw new Error(`git ${args.join(' ')} in ${dir} failed (${r.exitCode}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** The bytes at `rel` under `dir` as a sync would read them; a missing file reads as empty. */
export async function fileBytes(dir: string, rel: string): Promise<Uint8Array> {
  return readFile(path.resolve(dir, rel)).catch(() => new Uint8Array());
}

/** Writes `content` to `rel` under `dir`, creating the parent dirs. */
export async function writeFileIn(dir: string, rel: string, content: string): Promise<void> {
  const file = path.join(dir, rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
}

/**
 * `git init -b main` in `dir` (created if missing). With `files`, they are written and committed
 * as the first commit ("initial"); without, the repo has no commit yet. Returns `dir`.
 */
export async function initRepo(dir: string, files?: Record<string, string>): Promise<string> {
  await mkdir(dir, { recursive: true });
  await git(dir, ['init', '-q', '-b', 'main']);
  if (files !== undefined) await commitFiles(dir, files, 'initial');
  return dir;
}

/** Writes files and commits them; returns the new commit id. */
export async function commitFiles(dir: string, files: Record<string, string>, message = 'change'): Promise<string> {
  for (const [rel, content] of Object.entries(files)) await writeFileIn(dir, rel, content);
  await git(dir, ['add', '-A']);
  await git(dir, ['commit', '-q', '-m', message]);
  return git(dir, ['rev-parse', 'HEAD']);
}
