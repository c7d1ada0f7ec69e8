/**
 * The repo the service watches: `--repo` as given, else the git top level of the current
 * directory. Small on purpose; src/config/repo.ts may take its place.
 */
import { stat } from 'node:fs/promises';
import { execa } from 'execa';
import { AppError } from '../errors.js';

export async function resolveServiceRepo(repoFlag: string | null, cwd: string, env: Readonly<Record<string, string | undefined>>): Promise<string> {
  if (repoFlag !== null) {
    const info = await stat(repoFlag).catch(() => null);
    if (info === null || !info.isDirectory()) {
      throw new AppError('E_NO_REPO', `repo not found: ${repoFlag}`, { hint: 'pass --repo with the directory of your clone' });
    }
    return repoFlag;
  }
  const result = await execa('git', ['rev-parse', '--show-toplevel'], { cwd, env, extendEnv: false, reject: false, stdin: 'ignore' });
  const top = typeof result.stdout === 'string' ? result.stdout.trim() : '';
  if (result.exitCode !== 0 || top.length === 0) {
    throw new AppError('E_NO_REPO', `not inside a git work tree: ${cwd}`, {
      hint: 'run `mcp-secrets service install` from inside your clone, or pass --repo DIR',
    });
  }
  return top;
}
