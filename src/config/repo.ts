/**
 * Which repo a command works on: `--repo` when given, else the git top level of the cwd.
 * Needs git (unlike options.ts), so commands call it only when they need the repo.
 */
import { stat } from 'node:fs/promises';
import { AppError, sanitizeForMessage } from '../errors.js';
import { findRepoRoot } from '../git/layout.js';

export { findRepoRoot };

export interface RepoInput {
  /** `--repo` as resolved by resolveCommonOptions (absolute), or null. */
  readonly repoFlag: string | null;
  readonly cwd: string;
}

const HINT = 'run it inside the repository holding config/secrets.enc.yaml, or pass --repo DIR';

/**
 * The repo root. An explicit `--repo` is taken as given, but it must be a directory inside a git
 * work tree (DESIGN.md: the repo is a git work tree; provenance and the watcher's git awareness
 * depend on it). Otherwise the git top level of `cwd`.
 * @throws AppError E_NO_REPO when `--repo` is not a directory or not in a git work tree, or `cwd`
 *   is outside any git work tree.
 */
export async function resolveRepo(input: RepoInput): Promise<string> {
  if (input.repoFlag !== null) {
    const shown = sanitizeForMessage(input.repoFlag, 400);
    const isDir = await stat(input.repoFlag).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDir) throw new AppError('E_NO_REPO', `repository not found: ${shown}`, { hint: 'pass --repo with the path of an existing directory' });
    if ((await findRepoRoot(input.repoFlag)) === null) {
      throw new AppError('E_NO_REPO', `--repo is not a git work tree: ${shown}`, {
        hint: 'pass --repo with the clone that holds config/secrets.enc.yaml (`git clone` it first), or run inside it',
      });
    }
    return input.repoFlag;
  }
  const root = await findRepoRoot(input.cwd);
  if (root === null) throw new AppError('E_NO_REPO', `not inside a git work tree: ${sanitizeForMessage(input.cwd, 400)}`, { hint: HINT });
  return root;
}
