/**
 * Logging (DESIGN.md "Logging"): winston, JSON lines to `<home>/logs/daemon.log` (size-rotated,
 * 0600 in a 0700 directory, opened without following links: log-file.ts) and readable lines to stderr (journald and launchd keep them).
 *
 * Every line passes the redaction format first: it masks the current secret values (the daemon
 * updates the set after each decrypt) and anything shaped like an age secret key, in the message
 * and in every metadata field. Then every string is escaped (src/escape.ts): a control character
 * from a bundle, a path or the keychain can neither split a line in the journal nor drive the
 * terminal of whoever reads it. Log names, counts, codes and durations; never values.
 */
import winston from 'winston';
import type { LogLevel } from './config/options.js';
import { PrivateLogFile } from './log-file.js';
import { oneLine } from './escape.js';

export interface Logger {
  error(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  debug(message: string, meta?: Record<string, unknown>): void;
  /** A logger whose lines carry `component` (shown as "(watch)", "(publish)", …). */
  child(component: string): Logger;
}

const AGE_KEY = /AGE-SECRET-KEY-(?:PQ-)?1[0-9A-Za-z]+/g;
const MASK = '[redacted]';
/** Values shorter than this are not masked: masking "1" or "true" everywhere would destroy the log, and such values are not secrets. */
const MIN_SECRET_LENGTH = 6;

/** Masks known secret values and age keys. Longest values first, so a value containing another is masked whole. */
export class Redactor {
  private values: string[] = [];

  /** Replaces the set of values to mask (called after each successful decrypt). */
  setSecrets(values: Iterable<string>): void {
    const unique = new Set<string>();
    for (const v of values) {
      for (const line of [v, ...v.split(/\r?\n/)]) if (line.trim().length >= MIN_SECRET_LENGTH) unique.add(line);
    }
    this.values = [...unique].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text.replace(AGE_KEY, 'AGE-SECRET-KEY-1' + MASK);
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join(MASK);
    return out;
  }

  redactDeep(value: unknown, depth = 0): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (depth > 6 || value === null || typeof value !== 'object') return value;
    if (value instanceof Error) return this.redact(value.message);
    if (Array.isArray(value)) return value.map((v) => this.redactDeep(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.redactDeep(v, depth + 1);
    return out;
  }
}

/**
 * The part of {@link Logger} a module that only reports needs (the watcher, the IPC server): one
 * interface, so any logger, or a silent one in tests, fits them all.
 */
export type ReportingLogger = Pick<Logger, 'debug' | 'info' | 'warn'>;

export interface LoggerOptions {
  level: LogLevel;
  redactor: Redactor;
  /** JSON lines go to `<logDir>/daemon.log`; omit for stderr only (one-shot commands). */
  logDir?: string;
  /** Readable lines on stderr (default true). */
  stderr?: boolean;
  maxFileBytes?: number;
  maxFiles?: number;
  /** For tests: where readable lines go instead of process.stderr. */
  stderrStream?: NodeJS.WritableStream;
}

const LEVEL_KEYS = new Set(['level', 'message', 'timestamp', 'component']);

export interface RootLogger extends Logger {
  /**
   * Starts writing JSON lines to `<logDir>/daemon.log` too (see log-file.ts): called once home
   * is checked and the single-instance checks have passed. Throws E_INSECURE_PATH or E_WRITE.
   */
  attachLogFile(logDir: string): void;
  /** Flushes and closes every transport (on shutdown, so the last lines reach the file). */
  close(): Promise<void>;
}

export function createLogger(options: LoggerOptions): RootLogger {
  const { redactor } = options;
  const redact = winston.format((info) => {
    // redact first (a multi-line secret is matched whole), then escape what is left
    info.message = oneLine(redactor.redact(String(info.message)));
    for (const key of Object.keys(info)) {
      if (key !== 'level' && key !== 'message') info[key] = escapeDeep(redactor.redactDeep(info[key]));
    }
    return info;
  });
  const transports: winston.transport[] = [];
  if (options.stderr !== false) {
    const readable = winston.format.printf((info) => {
      const component = info.component ? `(${String(info.component)}) ` : '';
      const meta = Object.entries(info)
        .filter(([k]) => !LEVEL_KEYS.has(k) && typeof k === 'string')
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      return `${String(info.timestamp)} ${info.level} ${component}${String(info.message)}${meta ? ' ' + meta : ''}`;
    });
    transports.push(
      options.stderrStream
        ? new winston.transports.Stream({ stream: options.stderrStream, format: readable })
        : new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'], format: readable }),
    );
  }
  const files: PrivateLogFile[] = [];
  const fileTransport = (logDir: string): winston.transports.StreamTransportInstance => {
    const stream = new PrivateLogFile({ dir: logDir, maxBytes: options.maxFileBytes, maxFiles: options.maxFiles });
    files.push(stream);
    return new winston.transports.Stream({ stream, format: winston.format.json() });
  };
  if (options.logDir) transports.push(fileTransport(options.logDir));
  const base = winston.createLogger({
    level: options.level,
    format: winston.format.combine(redact(), winston.format.timestamp()),
    transports,
    exitOnError: false,
  });
  return {
    ...wrap(base),
    attachLogFile: (logDir) => void base.add(fileTransport(logDir)),
    close: () =>
      new Promise<void>((resolve) => {
        base.on('finish', () => {
          for (const file of files) file.end();
          resolve();
        });
        base.end();
        // a transport that never finishes must not hold the process
        setTimeout(resolve, 500).unref();
      }),
  };
}

/** Every string in a (redacted) metadata value, escaped; keys too, since they are printed as `key=`. */
function escapeDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return oneLine(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => escapeDeep(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[oneLine(k)] = escapeDeep(v, depth + 1);
  return out;
}

function wrap(w: winston.Logger): Logger {
  return {
    error: (m, meta) => void w.error(m, meta ?? {}),
    warn: (m, meta) => void w.warn(m, meta ?? {}),
    info: (m, meta) => void w.info(m, meta ?? {}),
    debug: (m, meta) => void w.debug(m, meta ?? {}),
    child: (component) => wrap(w.child({ component })),
  };
}

/** A logger that drops everything: the default for library code and unit tests. */
export const silentLogger: Logger = {
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
  child: () => silentLogger,
};
