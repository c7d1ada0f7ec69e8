import test, { type ExecutionContext } from 'ava';
import { EventEmitter } from 'node:events';
import { access, chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { tempDir } from '../../helpers/temp.js';
import { eventually } from '../../helpers/e2e.js';
import { EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, exitCodeOf, lookupCommand, runChild, type SignalSource } from '../../../src/consumers/child.js';
import { createMaskStream } from '../../../src/consumers/mask.js';

const NODE = process.execPath;

/** A signal source the test fires by hand, so no real signal hits the test process. */
class FakeSignals extends EventEmitter implements SignalSource {
  fire(signal: NodeJS.Signals): void {
    this.emit(signal);
  }
}

function script(code: string): string[] {
  return ['-e', code];
}

test('finds a command on the given PATH, 127 when it is nowhere, 126 when it is not executable', async (t) => {
  const dir = await tempDir(t);
  const bin = path.join(dir, 'bin');
  await mkdir(bin);
  await writeFile(path.join(bin, 'tool'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  await writeFile(path.join(bin, 'plain'), 'not a program\n', { mode: 0o644 });
  await mkdir(path.join(bin, 'adir'));

  const found = await lookupCommand('tool', `/nonexistent:${bin}`, dir);
  t.deepEqual(found, { ok: true, file: path.join(bin, 'tool') });
  t.like(await lookupCommand('no-such-tool-xyz', bin, dir), { ok: false, exitCode: EXIT_NOT_FOUND });
  t.like(await lookupCommand('plain', bin, dir), { ok: false, exitCode: EXIT_NOT_EXECUTABLE });
  t.like(await lookupCommand('adir', bin, dir), { ok: false, exitCode: EXIT_NOT_EXECUTABLE });
  t.like(await lookupCommand('./bin/tool', '', dir), { ok: true, file: path.join(bin, 'tool') });
  t.like(await lookupCommand('./bin/missing', '', dir), { ok: false, exitCode: EXIT_NOT_FOUND });
  t.like(await lookupCommand('', bin, dir), { ok: false, exitCode: EXIT_NOT_FOUND });
});

test('returns the child exit code, and 128+n when it dies of signal n', async (t) => {
  const base = { file: NODE, argv0: 'node', env: { PATH: process.env.PATH ?? '' }, cwd: process.cwd(), signals: new FakeSignals() };
  t.is(await runChild({ ...base, args: script('process.exit(7)') }), 7);
  t.is(await runChild({ ...base, args: script('process.kill(process.pid, "SIGKILL")') }), 128 + 9);
  t.is(await runChild({ ...base, args: script('process.kill(process.pid, "SIGTERM")') }), 128 + 15);
  t.is(exitCodeOf(null, 'SIGHUP'), 129);
});

/**
 * Starts a node child that runs `handlers` (installing its signal handlers) and only then writes
 * a ready file, and waits for that file: a signal sent afterwards always finds the handlers. A
 * loaded machine can take seconds to start node, so the wait is long and never signals early.
 */
async function childWithHandlers(t: ExecutionContext, handlers: string, opts: { terminal?: boolean } = {}): Promise<{ run: Promise<number>; signals: FakeSignals }> {
  const signals = new FakeSignals();
  const dir = await tempDir(t);
  const ready = path.join(dir, 'ready');
  const run = runChild({
    file: NODE,
    argv0: 'node',
    args: script(`${handlers} require('fs').writeFileSync(${JSON.stringify(ready)}, 'x'); setInterval(() => {}, 1000);`),
    env: { PATH: process.env.PATH ?? '' },
    cwd: dir,
    signals,
    ...opts,
  });
  await eventually(() => access(ready).then(() => true, () => undefined), 30_000, 'the child to install its handlers');
  return { run, signals };
}

test('passes a signal it receives on to the child and reports how the child ended', async (t) => {
  const { run, signals } = await childWithHandlers(t, `process.on('SIGTERM', () => process.exit(42));`);
  signals.fire('SIGTERM');
  t.is(await run, 42);
  t.is(signals.listenerCount('SIGTERM'), 0, 'handlers are removed once the child has ended');
});

test('in a terminal, Ctrl-C style signals are left to the terminal (no double delivery), others are passed on', async (t) => {
  const { run, signals } = await childWithHandlers(t, `let ints = 0; process.on('SIGINT', () => ints++); process.on('SIGHUP', () => process.exit(10 + ints));`, { terminal: true });
  signals.fire('SIGINT');
  signals.fire('SIGHUP');
  t.is(await run, 10, 'SIGINT was not forwarded, SIGHUP was');
});

test('a masked stderr hides selected values; the unmasked child keeps stdout untouched', async (t) => {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  const code = await runChild({
    file: NODE,
    argv0: 'node',
    args: script('process.stderr.write("token=" + process.env.TOKEN + "\\n")'),
    env: { PATH: process.env.PATH ?? '', TOKEN: 'tok-0123456789' },
    cwd: process.cwd(),
    signals: new FakeSignals(),
    stderrFilter: createMaskStream([{ name: 'TOKEN', value: 'tok-0123456789' }]),
    stderr: sink,
  });
  t.is(code, 0);
  t.is(Buffer.concat(chunks).toString(), 'token=[masked TOKEN]\n');
});

test('a file that vanishes between lookup and start rejects instead of hanging', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'gone');
  await writeFile(file, '#!/bin/sh\n', { mode: 0o755 });
  await chmod(file, 0o644);
  await t.throwsAsync(runChild({ file, argv0: 'gone', args: [], env: {}, cwd: dir, signals: new FakeSignals() }));
});
