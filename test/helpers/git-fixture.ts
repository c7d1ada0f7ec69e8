/**
 * Real git repositories in temp dirs for tests, independent of the machine's git config:
 * no system or global config, a fixed identity, `main` as the first branch.
 */
import { mkdtemp, mkdir, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

/** Makes git in this process (and the code under test) ignore the machine's git config. */
export function isolateGitConfig(): void {
  process.env.GIT_CONFIG_NOSYSTEM = '1';
  process.env.GIT_CONFIG_GLOBAL = os.devNull;
  // Never discover a repo above the temp dirs (a developer's /tmp could sit inside one).
  process.env.GIT_CEILING_DIRECTORIES = os.tmpdir();
  process.env.GIT_AUTHOR_NAME = 'Test';
  process.env.GIT_AUTHOR_EMAIL = 'test@example.invalid';
  process.env.GIT_COMMITTER_NAME = 'Test';
  process.env.GIT_COMMITTER_EMAIL = 'test@example.invalid';
}

const IDENTITY = ['-c', 'user.name=Test', '-c', 'user.email=test@example.invalid', '-c', 'commit.gpgsign=false', '-c', 'core.hooksPath=/dev/null'];

/** Runs git in `dir`; throws with git's stderr when it fails unless `allowFail`. */
export async function git(dir: string, args: readonly string[], options: { allowFail?: boolean } = {}): Promise<{ exitCode: number; stdout: string }> {
  const result = await execa('git', [...IDENTITY, '-C', dir, ...args], {
    reject: false,
    stdin: 'ignore',
    env: { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: os.devNull, GIT_TERMINAL_PROMPT: '0', GIT_EDITOR: 'true', GIT_MERGE_AUTOEDIT: 'no' },
  });
  const exitCode = result.exitCode ?? -1;
  if (exitCode !== 0 && !options.allowFail) {
    throw new Error(`git ${args.join(' ')} failed (${exitCode}): ${String(result.stderr)}`);
  }
  return { exitCode, stdout: String(result.stdout).trim() };
}

/** A fresh temp dir; remove it with {@link removeDir}. */
export async function tempDir(prefix = 'mcp-git-'): Promise<string> {
  return realpath(await mkdtemp(path.join(os.tmpdir(), prefix)));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Writes a file, creating its directories. */
export async function put(dir: string, rel: string, content: string): Promise<void> {
  const file = path.join(dir, rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
}

/** `git init -b main` in a new temp dir, with one commit holding `files`. */
export async function initRepo(files: Record<string, string> = { 'README.md': 'readme\n' }): Promise<string> {
  const dir = await tempDir();
  await git(dir, ['init', '-q', '-b', 'main']);
  for (const [rel, content] of Object.entries(files)) await put(dir, rel, content);
  await git(dir, ['add', '-A']);
  await git(dir, ['commit', '-q', '-m', 'initial']);
  return dir;
}

/** Writes files and commits them; returns the new commit id. */
export async function commitFiles(dir: string, files: Record<string, string>, message = 'change'): Promise<string> {
  for (const [rel, content] of Object.entries(files)) await put(dir, rel, content);
  await git(dir, ['add', '-A']);
  await git(dir, ['commit', '-q', '-m', message]);
  return (await git(dir, ['rev-parse', 'HEAD'])).stdout;
}
