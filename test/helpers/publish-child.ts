/**
 * A child process for publisher tests that need a process of their own (another uid, a umask,
 * a SIGKILL). Usage: `node publish-child.js <publish|pause|rerun> <home>`; the outputs come as
 * JSON `[{name, text}]` on stdin (never argv). It prints one JSON line: `{"ok":true,"result"}`
 * or `{"ok":false,"code","message"}`. `pause` stops before the first rename, prints
 * `{"paused":true}` and waits to be killed. `rerun` removes stale temps first.
 */

import { publish, removeStaleTemps, type OutputFile } from '../../src/publish/publisher.js';
import { realFs, withFaults } from '../../src/publish/fs.js';
import { isAppError } from '../../src/errors.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<void> {
  const [mode, home] = process.argv.slice(2);
  if (home === undefined || !['publish', 'pause', 'rerun'].includes(mode ?? '')) throw new Error('usage: publish-child <publish|pause|rerun> <home>');
  const files: OutputFile[] = (JSON.parse(await readStdin()) as { name: string; text: string }[]).map((f) => ({
    name: f.name,
    bytes: new TextEncoder().encode(f.text),
  }));
  const fs =
    mode === 'pause'
      ? withFaults(realFs, {
          before: async (step) => {
            if (step !== 'rename') return;
            process.stdout.write(JSON.stringify({ paused: true }) + '\n');
            // Wait here until the parent kills us; the interval keeps the event loop alive.
            await new Promise(() => setInterval(() => undefined, 60_000));
          },
        })
      : realFs;
  const removed = mode === 'rerun' ? await removeStaleTemps(home) : [];
  try {
    const result = await publish(home, files, { fs });
    process.stdout.write(JSON.stringify({ ok: true, result, removed }) + '\n');
  } catch (error) {
    if (!isAppError(error)) throw error;
    process.stdout.write(JSON.stringify({ ok: false, code: error.code, message: error.message }) + '\n');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
