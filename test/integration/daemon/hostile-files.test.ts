/**
 * What a checkout can put at the bundle's path: a symlink to /dev/zero, a FIFO, a document nested
 * thousands deep. The daemon must refuse each with a code, keep the last good outputs byte for
 * byte, stay bounded in memory and keep answering (status, sync, SIGTERM).
 */
import test from 'ava';
import { readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { daemonFixture, sampleBundle, type DaemonFixture } from '../../helpers/daemon.js';
import { git } from '../../helpers/git.js';
import { sync as ipcSync } from '../../../src/ipc/client.js';
import type { StatusDocument } from '../../../src/ipc/status.js';

const isFresh = (version: string) => (s: StatusDocument) => s.state === 'fresh' && s.secretsVersion === version;

/** A process's resident and peak resident memory in bytes, from /proc (Linux). */
async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN) * 1024;
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

const outputs = (d: DaemonFixture) => Promise.all([readFile(path.join(d.home, '.env')), readFile(path.join(d.home, 'console-secrets.json'))]);

async function freshDaemon(t: Parameters<typeof daemonFixture>[0]) {
  const d = await daemonFixture(t);
  await d.commitBundle(sampleBundle('good'), 'good bundle');
  await d.start();
  await d.waitFor(isFresh('good'), 'the good bundle published');
  const before = await outputs(d);
  const memory = await memoryOf(d.child!.pid!);
  return { d, before, memory };
}

test('a bundle committed as a symlink to /dev/zero and checked out is refused: error state, outputs kept, memory bounded, daemon serving', async (t) => {
  const { d, before, memory } = await freshDaemon(t);
  await git(d.repo, ['checkout', '-q', '-b', 'hostile']);
  await rm(d.bundle);
  await symlink('/dev/zero', d.bundle);
  await git(d.repo, ['add', '-A']);
  await git(d.repo, ['commit', '-q', '-m', 'bundle is /dev/zero']);
  // Back on main, the good bundle is published again, commit and all, before the hostile checkout
  // (console-secrets.json names the commit). The first sync after a checkout can run between git
  // releasing the index and moving HEAD: it honestly records main's bytes as of no commit, and
  // the HEAD event's sync names the commit. That is not what this test is about: wait for both.
  await d.waitFor((s) => s.state === 'error', 'the symlink in the work tree refused', 60_000);
  const main = await git(d.repo, ['rev-parse', 'main']);
  await git(d.repo, ['checkout', '-q', 'main']);
  await d.waitFor((s) => isFresh('good')(s) && s.source.commit === main, 'main published again, with its commit', 60_000);
  await git(d.repo, ['checkout', '-q', 'hostile']);

  const refused = await d.waitFor((s) => s.state === 'error' && s.lastSync?.error?.code === 'E_PARSE', 'the refusal', 60_000);
  t.regex(refused.lastSync?.error?.message ?? '', /the bundle .*secrets\.enc\.yaml is a symbolic link: refused/);
  const after = await outputs(d);
  t.true(after[0].equals(before[0]), '.env byte-identical');
  t.true(after[1].equals(before[1]), 'console-secrets.json byte-identical');
  const status = await ipcSync({ socketPath: d.socket, timeoutMs: 60_000 });
  t.is(status.state, 'error', 'an IPC sync is answered and refuses again');
  const grown = (await memoryOf(d.child!.pid!)).peak - memory.peak;
  t.true(grown < 300 * 1024 * 1024, `peak RSS grew by ${Math.round(grown / 1048576)} MiB`);

  await git(d.repo, ['checkout', '-q', 'main']);
  await d.waitFor(isFresh('good'), 'back on main', 60_000);
  t.is(await d.stop('SIGTERM'), 0);
});

test('a FIFO at the bundle path neither hangs the daemon nor its IPC; SIGTERM still stops it', async (t) => {
  const { d, before } = await freshDaemon(t);
  const fifo = path.join(d.dir, 'fifo');
  await execa('mkfifo', [fifo]);
  await rename(fifo, d.bundle);

  const refused = await d.waitFor((s) => s.state === 'error' && s.lastSync?.error?.code === 'E_PARSE', 'the refusal', 60_000);
  t.regex(refused.lastSync?.error?.message ?? '', /is a FIFO \(named pipe\)/);
  const answered = await ipcSync({ socketPath: d.socket, timeoutMs: 60_000 });
  t.is(answered.state, 'error');
  t.is((await d.status()).state, 'error');
  const after = await outputs(d);
  t.true(after[0].equals(before[0]) && after[1].equals(before[1]), 'outputs byte-identical');

  // a regular bundle again: picked up
  await rm(d.bundle);
  await d.writeBundle(sampleBundle('after-fifo'));
  await d.waitFor(isFresh('after-fifo'), 'the regular bundle again', 60_000);
  await execa('mkfifo', [fifo]);
  await rename(fifo, d.bundle);
  await d.waitFor((s) => s.state === 'error', 'the second refusal', 60_000);
  // a daemon stuck in a FIFO open ignored SIGTERM: give it a generous while, then fail
  let timer: NodeJS.Timeout | undefined;
  const exited = await Promise.race([
    d.stop('SIGTERM'),
    new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still running 60 s after SIGTERM'), 60_000))),
  ]);
  clearTimeout(timer);
  t.is(exited, 0);
});

test('a bundle nested 3,000 deep is E_PARSE naming the depth limit in the daemon, not E_WRITE (a bug)', async (t) => {
  const { d, before } = await freshDaemon(t);
  await writeFile(d.bundle, `x: ${'['.repeat(3000)}${']'.repeat(3000)}\n`);
  const refused = await d.waitFor((s) => s.state === 'error', 'the refusal', 60_000);
  t.is(refused.lastSync?.error?.code, 'E_PARSE');
  t.regex(refused.lastSync?.error?.message ?? '', /nest deeper than 100 levels \(the limit\)/);
  const after = await outputs(d);
  t.true(after[0].equals(before[0]) && after[1].equals(before[1]), 'outputs byte-identical');
  t.false(d.stderr.join('').includes('RangeError'));
});

test('.sops.yaml committed as a symlink to /dev/zero does not stop the sync nor grow the daemon', async (t) => {
  const { d, memory } = await freshDaemon(t);
  await rm(path.join(d.repo, '.sops.yaml'));
  await symlink('/dev/zero', path.join(d.repo, '.sops.yaml'));
  await git(d.repo, ['add', '-A']);
  await git(d.repo, ['commit', '-q', '-m', '.sops.yaml is /dev/zero']);
  await d.commitBundle(sampleBundle('next'), 'next bundle');
  await d.waitFor(isFresh('next'), 'the next bundle published', 60_000);
  const status = await ipcSync({ socketPath: d.socket, timeoutMs: 60_000 });
  t.is(status.state, 'fresh');
  const grown = (await memoryOf(d.child!.pid!)).peak - memory.peak;
  t.true(grown < 300 * 1024 * 1024, `peak RSS grew by ${Math.round(grown / 1048576)} MiB`);
});
