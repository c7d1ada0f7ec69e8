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
 * The repo root. An explicit `--repo` is taken as given (it must be a directory; it need not be
 * a git work tree: provenance is then unknown). Otherwise the git top level of `cwd`.
 * @throws AppError E_NO_REPO when `--repo` is not a directory or `cwd` is outside any git work tree.
 */
export async function resolveRepo(input: RepoInput): Promise<string> {
  if (input.repoFlag !== null) {
    const isDir = await stat(input.repoFlag).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDir) throw new AppError('E_NO_REPO', `repository not found: ${sanitizeForMessage(input.repoFlag, 400)}`, { hint: 'pass --repo with the path of an existing directory' });
    return input.repoFlag;
  }
  const root = await findRepoRoot(input.cwd);
  if (root === null) throw new AppError('E_NO_REPO', `not inside a git work tree: ${sanitizeForMessage(input.cwd, 400)}`, { hint: HINT });
  return root;
}
