/** The errno code of a file-system error (`ENOENT`, `ELOOP`…), without trusting the error's shape. */
export function errnoOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as NodeJS.ErrnoException).code : undefined;
}

/** True when `error` carries one of `codes`. */
export function isErrno(error: unknown, ...codes: string[]): boolean {
  const code = errnoOf(error);
  return code !== undefined && codes.includes(code);
}
