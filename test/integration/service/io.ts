import { Readable } from 'node:stream';
import type { CliIo } from '../../../src/cli/types.js';

export interface CapturedIo extends CliIo {
  out: () => string;
  err: () => string;
}

/**
 * Where these tests say the system temp dir is, unless a test names one: never a parent of this
 * checkout, so `service install` does not refuse to point at it wherever CI clones the repo
 * (refusing a CLI under the temp dir has tests of its own in test/unit/service/cli-location).
 */
export const TEST_TMPDIR = '/nonexistent/mcp-secrets-test-tmp';

export function captureIo(env: Record<string, string | undefined>, cwd: string): CapturedIo {
  env = { TMPDIR: TEST_TMPDIR, ...env };
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
