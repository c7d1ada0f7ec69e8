/**
 * Expected failures. Every one carries a code from the contract (DESIGN.md "Error codes"), a
 * message naming what failed and on which object, and a hint that is the next step to take.
 *
 * Rules: never put a secret value, key material or a hash of plaintext in a message or hint;
 * anything echoed from a file goes through {@link sanitizeForMessage}.
 */

export const ERROR_CODES = [
  'E_USAGE',
  'E_NO_REPO',
  'E_SOURCE_MISSING',
  'E_PARSE',
  'E_NOT_SOPS',
  'E_NO_IDENTITY',
  'E_IDENTITY_MISMATCH',
  'E_DECRYPT',
  'E_MAC_MISMATCH',
  'E_CONFLICT',
  'E_UNREPRESENTABLE',
  'E_DUPLICATE_NAME',
  'E_UNSUPPORTED_VALUE',
  'E_WRITE',
  'E_INSECURE_PATH',
  'E_SOPS_CLI',
  'E_KEYCHAIN',
  'E_DAEMON_UNREACHABLE',
  'E_ALREADY_RUNNING',
  'E_UNTRUSTED',
  'E_FORBIDDEN_NAME',
  /** A bug: exit 2, with where to report it. */
  'E_INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface AppErrorOptions {
  /** The next step for the user, e.g. "run `mcp-secrets identity import`". */
  hint?: string;
  cause?: unknown;
  /** Structured, non-secret details (paths, recipients, attempt outcomes) for --json and logs. */
  details?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  /** Message and hint in one line pair, as printed by the CLI. */
  describe(): string {
    return this.hint ? `${this.message}\nhint: ${this.hint}` : this.message;
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string } {
    return this.hint ? { code: this.code, message: this.message, hint: this.hint } : { code: this.code, message: this.message };
  }
}

/** Where a bug is reported: named by every E_INTERNAL message. */
export const REPORT_BUGS = 'a bug: please report it with the daemon log (~/.mcp/logs/daemon.log) and the command you ran';

/** Any error as an AppError: ours as they are, anything else (a bug) as E_INTERNAL. */
export function asAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  return new AppError('E_INTERNAL', `internal error (${REPORT_BUGS})`, { cause: error });
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

/** Exit codes (DESIGN.md "Commands"). */
export const EXIT = {
  OK: 0,
  NOT_FRESH: 1,
  FAILED: 2,
  UNREACHABLE: 3,
  USAGE: 64,
  /** Configuration problems a restart cannot fix; the service unit lists it in RestartPreventExitStatus. */
  CONFIG: 78,
} as const;

export function exitCodeFor(error: unknown): number {
  if (!isAppError(error)) return EXIT.FAILED;
  switch (error.code) {
    case 'E_USAGE':
      return EXIT.USAGE;
    case 'E_DAEMON_UNREACHABLE':
      return EXIT.UNREACHABLE;
    default:
      return EXIT.FAILED;
  }
}

const AGE_SECRET_KEY = /AGE-SECRET-KEY-(?:PQ-)?1[0-9A-Z]+/gi;

/**
 * Makes text from a file or a child process safe to echo in a message: masks anything shaped
 * like an age secret key, escapes control characters and caps the length.
 */
export function sanitizeForMessage(text: string, maxLength = 200): string {
  const masked = text.replace(AGE_SECRET_KEY, 'AGE-SECRET-KEY-1[redacted]');
  // eslint-disable-next-line no-control-regex
  const escaped = masked.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return escaped.length > maxLength ? `${escaped.slice(0, maxLength)}…` : escaped;
}

/** Daemon states that mean "failed" rather than "not fresh yet" (DESIGN.md "Status document"). */
const FAILED_STATES: ReadonlySet<string> = new Set(['error', 'conflict', 'locked', 'missing']);

/**
 * The exit code for a daemon's status, the same for every command that reports one (`status`,
 * `status --check`, `sync` through the daemon): 0 fresh, 1 not fresh yet (starting, syncing,
 * stale), 2 a failed state (error, conflict, locked, missing).
 */
export function exitCodeForState(status: { state: string; fresh: boolean }): number {
  if (FAILED_STATES.has(status.state)) return EXIT.FAILED;
  return status.fresh ? EXIT.OK : EXIT.NOT_FRESH;
}
