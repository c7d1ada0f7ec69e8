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

/**
 * How deeply maps and lists may nest in a bundle. A real SOPS file nests a handful of levels (its
 * own `sops` block is four: sops → age → [ ] → recipient); 100 is far above any of them, and far
 * below where the recursive tree walks (parse, decrypt, MAC, render) would exhaust the stack: a
 * 6 KB `x: [[[…]]]` 3,000 deep once ended in a RangeError instead of a parse error.
 */
export const MAX_NESTING_DEPTH = 100;

/** E_PARSE for a document nested deeper than {@link MAX_NESTING_DEPTH}. */
export function depthError(displayName: string, line: number | null): AppError {
  const where = line === null ? displayName : `${displayName}:${line}`;
  return new AppError('E_PARSE', `cannot parse ${where}: maps and lists nest deeper than ${MAX_NESTING_DEPTH} levels (the limit)`, {
    hint: 'a secrets bundle nests a few levels; restore the file from git (`git checkout <commit> -- <file>`) and redo the edit with sops',
    details: line === null ? { file: displayName, limit: MAX_NESTING_DEPTH } : { file: displayName, line, limit: MAX_NESTING_DEPTH },
  });
}
