#!/usr/bin/env node
/**
 * Entry point: argv → command → exit code. The only place that calls process.exit.
 *
 * A closed stdout or stderr (`mcp-secrets doctor | head -1`, a journal that went away) ends the
 * output, not the work: the error is handled here once, later writes to that stream are dropped,
 * and the command finishes what it was doing (a sync still publishes, a rotate still writes its
 * evidence) and exits with its own code, never with a stack or a stray 1 ("not fresh").
 * `--watch` commands exist only to print, so a closed stdout ends them at once with 0.
 */
import { isatty } from 'node:tty';
import { EXIT } from './errors.js';
import { enableCompileCache } from './compile-cache.js';

// before the CLI is imported, so every later module can come from the cache (Node >= 22.1)
enableCompileCache();
const { runCli } = await import('./cli/run.js');

const closed = { stdout: false, stderr: false };
// only our own flags count: after `--` the words are another program's (`run -- CMD --watch`)
const ownArgs = process.argv.slice(2);
const watching = (ownArgs.includes('--') ? ownArgs.slice(0, ownArgs.indexOf('--')) : ownArgs).includes('--watch');

function onStreamError(name: keyof typeof closed) {
  return (error: NodeJS.ErrnoException): void => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
    closed[name] = true;
    if (name === 'stdout' && watching) process.exit(EXIT.OK);
  };
}
process.stdout.on('error', onStreamError('stdout'));
process.stderr.on('error', onStreamError('stderr'));

const code = await runCli(process.argv.slice(2), {
  stdout: (s) => void (closed.stdout || process.stdout.write(s)),
  stderr: (s) => void (closed.stderr || process.stderr.write(s)),
  env: process.env,
  cwd: process.cwd(),
  // read lazily: see stdinIsTTY
  get stdin() {
    return process.stdin;
  },
  stdoutIsTTY: Boolean(process.stdout.isTTY),
  // tty.isatty, not process.stdin.isTTY: touching process.stdin opens a stream on fd 0, which
  // `run` hands untouched to its child
  stdinIsTTY: isatty(0),
});
process.exitCode = code;
