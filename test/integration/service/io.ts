import { Readable } from 'node:stream';
import type { CliIo } from '../../../src/cli/types.js';

export interface CapturedIo extends CliIo {
  out: () => string;
  err: () => string;
}

export function captureIo(env: Record<string, string | undefined>, cwd: string): CapturedIo {
  let out = '';
  let err = '';
  return {
    stdout: (s) => void (out += s),
    stderr: (s) => void (err += s),
    env,
    cwd,
    stdin: Readable.from([]),
    stdoutIsTTY: false,
    out: () => out,
    err: () => err,
  };
}
