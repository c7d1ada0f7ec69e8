#!/usr/bin/env node
/** Entry point: argv → command → exit code. The only place that calls process.exit. */
import { enableCompileCache } from './compile-cache.js';

// before anything else is imported, so every later module can come from the cache
enableCompileCache();
const { runCli } = await import('./cli/run.js');

const code = await runCli(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
  cwd: process.cwd(),
  stdin: process.stdin,
  stdoutIsTTY: Boolean(process.stdout.isTTY),
});
process.exitCode = code;
