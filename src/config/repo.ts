/**
 * Which repo a command works on: `--repo` when given, else the git top level of the cwd.
 * Needs git (unlike options.ts), so commands call it only when they need the repo.
 */
import { lstat, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError, sanitizeForMessage } from '../errors.js';
import { findRepoRoot } from '../git/layout.js';

export { findRepoRoot };

export interface RepoInput {
  /** `--repo` as resolved by resolveCommonOptions (absolute), or null. */
  readonly repoFlag: string | null;
  readonly cwd: string;
  /**
   * The bundle path (`--source`, relative to the repo or absolute). When given, a `--repo` that is
   * not a git work tree must at least hold it: otherwise the mistake is the repo, not the bundle.
   */
  readonly source?: string;
}

const HINT = 'run it inside the repository holding config/secrets.enc.yaml, or pass --repo DIR';

/**
 * The repo root. An explicit `--repo` is taken as given (it must be a directory). It need not be a
 * git work tree (a bundle copied out of git still syncs, with unknown provenance), but a `--repo`
 * that is neither a git work tree nor holds the bundle is a wrong `--repo` (E_NO_REPO), not a
 * missing bundle. Otherwise the git top level of `cwd`.
 * @throws AppError E_NO_REPO when `--repo` is not a directory, or is neither in a git work tree nor
 *   holding `source`; or when `cwd` is outside any git work tree.
 */
export async function resolveRepo(input: RepoInput): Promise<string> {
  if (input.repoFlag !== null) {
    const shown = sanitizeForMessage(input.repoFlag, 400);
    const isDir = await stat(input.repoFlag).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDir) throw new AppError('E_NO_REPO', `repository not found: ${shown}`, { hint: 'pass --repo with the path of an existing directory' });
    if (input.source === undefined) return input.repoFlag;
    // the bundle first: when it is there the answer is yes without asking git (a child process
    // on every `sync --repo`, `run` and daemon start)
    const present = await lstat(path.resolve(input.repoFlag, input.source)).then(
      () => true,
      () => false,
    );
    if (!present && (await findRepoRoot(input.repoFlag)) === null) {
      throw new AppError('E_NO_REPO', `--repo is not a git work tree and holds no ${sanitizeForMessage(input.source, 200)}: ${shown}`, {
        hint: 'pass --repo with the clone that holds the bundle (`git clone` it first), or run inside it',
      });
    }
    return input.repoFlag;
  }
  const root = await findRepoRoot(input.cwd);
  if (root === null) throw new AppError('E_NO_REPO', `not inside a git work tree: ${sanitizeForMessage(input.cwd, 400)}`, { hint: HINT });
  return root;
}
