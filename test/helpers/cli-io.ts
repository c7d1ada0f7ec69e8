/** A CliIo that records what a command prints, for unit tests of `runXWith(input, deps)`. */
import { Readable } from 'node:stream';
import type { CliIo } from '../../src/cli/types.js';

export interface CapturedIo extends CliIo {
  /** Everything written to stdout, joined. */
  out(): string;
  /** Everything written to stderr, joined. */
  err(): string;
}

export function captureIo(options: { env?: Record<string, string | undefined>; cwd?: string } = {}): CapturedIo {
  const out: string[] = [];
  const err: string[] = [];
  return {
    stdout: (text) => void out.push(typeof text === 'string' ? text : Buffer.from(text).toString('utf8')),
    stderr: (text) => void err.push(text),
    env: options.env ?? {},
    cwd: options.cwd ?? '/work/repo',
    stdin: Readable.from([]),
    stdoutIsTTY: false,
    out: () => out.join(''),
    err: () => err.join(''),
  };
}
