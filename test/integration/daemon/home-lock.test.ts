/**
 * One writer per home, with real daemons: the home lock refuses a second daemon whatever its
 * socket, a one-shot sync or purge asks the daemon that holds home, and a refused daemon writes
 * nothing (not even `<home>/logs`).
 */
import test, { type ExecutionContext } from 'ava';
import { chmod, chown, mkdir, readdir, stat, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { daemonFixture, sampleBundle, type DaemonFixture } from '../../helpers/daemon.js';
import { runCli } from '../../helpers/e2e.js';
import { HOME_LOCK_NAME } from '../../../src/publish/home-lock.js';

async function runningDaemon(t: Parameters<typeof daemonFixture>[0]) {
  const d = await daemonFixture(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  await d.start();
  await d.waitFor((s) => s.state === 'fresh', 'fresh');
  return d;
}

test('a second daemon on the same home with another socket exits 78 with E_ALREADY_RUNNING naming the holder', async (t) => {
  const d = await runningDaemon(t);
  const otherSocket = path.join(d.dir, 'run2', 'd.sock');
  const r = await runCli(['daemon', '--repo', d.repo, '--home', d.home, '--socket', otherSocket], { env: d.env });
  t.is(r.code, 78, r.stderr);
  t.regex(r.stderr, /E_ALREADY_RUNNING/);
  t.true(r.stderr.includes(`pid ${d.child!.pid}`), r.stderr);
  t.true(r.stderr.includes(d.socket), 'names the holder socket');
  t.false(existsSync(otherSocket));
  t.is((await d.status()).state, 'fresh', 'the first daemon still serves');
});

test('a second daemon refused on the same socket creates neither its home nor <home>/logs', async (t) => {
  const d = await runningDaemon(t);
  const otherHome = path.join(d.dir, 'home2');
  const r = await runCli(['daemon', '--repo', d.repo, '--home', otherHome, '--socket', d.socket], { env: d.env });
  t.is(r.code, 78, r.stderr);
  t.regex(r.stderr, /E_ALREADY_RUNNING/);
  t.false(existsSync(otherHome));
});

test('a one-shot sync while a daemon holds home (on another socket) is done by that daemon', async (t) => {
  const d = await runningDaemon(t);
  const before = (await d.status()).lastSync?.at;
  // no --socket: the default (<home>/run/daemon.sock) is not the daemon's; the home lock names it
  const r = await runCli(['sync', '--repo', d.repo, '--home', d.home], { env: d.env });
  t.is(r.code, 0, r.stderr);
  t.true(r.stderr.includes(`the daemon (pid ${d.child!.pid})`), r.stderr);
  t.regex(r.stdout, /the daemon synced: state fresh/);
  t.not((await d.status()).lastSync?.at, before, 'the daemon ran the sync');
  t.false(existsSync(path.join(d.home, 'run')), 'the one-shot did not touch home');
});

test('purge while a daemon holds home locks that daemon through the socket in the home lock', async (t) => {
  const d = await runningDaemon(t);
  const r = await runCli(['purge', '--home', d.home, '--keep-identity'], { env: d.env });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /daemon locked/);
  t.is((await d.status()).state, 'locked');
  t.false(existsSync(path.join(d.home, '.env')));
});

test('a SIGKILLed daemon leaves a stale home lock that the next daemon takes over', async (t) => {
  const d = await runningDaemon(t);
  await d.stop('SIGKILL');
  t.true(existsSync(path.join(d.home, HOME_LOCK_NAME)), 'the killed daemon could not remove its lock');
  await d.start();
  await d.waitFor((s) => s.state === 'fresh', 'fresh after restart');
  await d.stop('SIGTERM');
  t.false(existsSync(path.join(d.home, HOME_LOCK_NAME)), 'a clean stop removes the lock');
});

/** A daemon fixture whose home holds `logs` as a symlink to a 0755 directory of the test's. */
async function homeWithLogsLink(t: ExecutionContext): Promise<{ d: DaemonFixture; target: string }> {
  const d = await daemonFixture(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  const target = path.join(d.dir, 'some-dir');
  await mkdir(target);
  await chmod(target, 0o755);
  await mkdir(d.home, { mode: 0o700 });
  await symlink(target, path.join(d.home, 'logs'));
  return { d, target };
}

test('a logs symlink in home is refused at start and the directory it points to is left as it was', async (t) => {
  const { d, target } = await homeWithLogsLink(t);
  const r = await runCli(['daemon', '--repo', d.repo, '--home', d.home, '--socket', d.socket], { env: d.env });
  t.is(r.code, 78, r.stderr);
  t.regex(r.stderr, /E_INSECURE_PATH/);
  t.is((await stat(target)).mode & 0o777, 0o755);
  t.deepEqual(await readdir(target), []);
});

test('a home owned by another user is refused before the logger touches it (its logs symlink target keeps its mode, gets no file)', async (t) => {
  if (process.getuid?.() !== 0) {
    t.fail('needs root to give a directory to another user');
    return;
  }
  const { d, target } = await homeWithLogsLink(t);
  await chown(d.home, 65534, 65534);
  const r = await runCli(['daemon', '--repo', d.repo, '--home', d.home, '--socket', d.socket], { env: d.env });
  t.is(r.code, 78, r.stderr);
  t.regex(r.stderr, /owned by another user/);
  t.is((await stat(target)).mode & 0o777, 0o755);
  t.deepEqual(await readdir(target), []);
  t.false(existsSync(d.socket));
});
