/** E_PARSE and E_NOT_SOPS errors shared by the stores. */
import { AppError, sanitizeForMessage } from '../../errors.js';

/** The 1-based line of `offset` in `text`. */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

export function parseError(displayName: string, what: string, line: number | null, cause?: unknown): AppError {
  const where = line === null ? displayName : `${displayName}:${line}`;
  return new AppError('E_PARSE', `cannot parse ${where}: ${sanitizeForMessage(what, 160)}`, {
    hint: 'fix the syntax error (check for a merge conflict or a hand edit) or restore the file from git',
    cause,
    details: line === null ? { file: displayName } : { file: displayName, line },
  });
}
