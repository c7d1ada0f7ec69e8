/**
 * The repo's `.mcp-secrets.yaml` as the use cases read it: bounded, absent = null. Kept apart
 * from `consumer-entries.ts` so that modules needing only the config (the outputs list, doctor,
 * the daemon's first status) do not load the engine.
 */
import { AppError, isAppError } from '../errors.js';
import { READ_LIMITS, readBoundedText } from '../fsx/read-bounded.js';

/** Reads the repo config bounded; null when the repo has none. */
export async function readRepoConfigText(file: string): Promise<string | null> {
  try {
    return await readBoundedText(file, {
      limit: READ_LIMITS.sopsConfig,
      what: '.mcp-secrets.yaml',
      hint: 'commit .mcp-secrets.yaml as a regular file of a few lines',
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!isAppError(error) && (code === 'ENOENT' || code === 'ENOTDIR')) return null;
    if (isAppError(error)) throw error;
    throw new AppError('E_PARSE', `cannot read ${file} (${code ?? 'error'})`, { hint: 'check the file permissions', cause: error });
  }
}
