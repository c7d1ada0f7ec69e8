import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../src/errors.js';
import { acquireHomeLock, HOME_LOCK_NAME, holderIsAlive, linuxProcStart, liveHomeLockHolder, type HomeLockHolder } from '../../../src/publish/home-lock.js';
import { tempDir } from '../../helpers/temp.js';

async function home(t: Parameters<typeof tempDir>[0]): Promise<string> {
  const dir = path.join(await tempDir(t), 'home');
  await mkdir(dir, { mode: 0o700 });
  return dir;
}

/** The pid of a process that has exited (and was reaped), so nothing answers to it. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

test('a second lock on the same home is refused with E_ALREADY_RUNNING naming the holder, and release frees it', async (t) => {
  const h = await home(t);
  const first = await acquireHomeLock(h, '/run/a.sock');
  const error = await t.throwsAsync(acquireHomeLock(h, '/run/b.sock'), { instanceOf: AppError });
  t.is(error?.code, 'E_ALREADY_RUNNING');
  t.regex(error?.message ?? '', new RegExp(`pid ${process.pid}, socket /run/a\\.sock`));
  t.is((await liveHomeLockHolder(h))?.socket, '/run/a.sock');
  await first.release();
  t.is(await liveHomeLockHolder(h), null);
  const again = await acquireHomeLock(h, '/run/b.sock');
  t.is((await liveHomeLockHolder(h))?.socket, '/run/b.sock');
  await again.release();
  t.deepEqual(await readdir(h), [], 'no lock and no temp left');
});

test('a lock left by a dead (SIGKILLed) holder is stale and taken over', async (t) => {
  const h = await home(t);
  const pid = await deadPid();
  const stale: HomeLockHolder = { pid, procStart: '1', socket: '/run/old.sock', startedAt: '2020-01-01T00:00:00.000Z' };
  await writeFile(path.join(h, HOME_LOCK_NAME), JSON.stringify(stale), { mode: 0o600 });
  t.is(await liveHomeLockHolder(h), null);
  const lock = await acquireHomeLock(h, '/run/new.sock');
  t.is((JSON.parse(await readFile(lock.path, 'utf8')) as HomeLockHolder).pid, process.pid);
  await lock.release();
});

test('a lock whose pid now names another process (pid reuse) is stale: the start time differs', async (t) => {
  const h = await home(t);
  const start = linuxProcStart(process.pid);
  if (process.platform === 'linux') t.truthy(start, '/proc gives a start time on Linux');
  // our own live pid, with a start time that is not ours: a daemon that died and whose pid came back
  const reused: HomeLockHolder = { pid: process.pid, procStart: `${start ?? '0'}1`, socket: '/run/old.sock', startedAt: '2020-01-01T00:00:00.000Z' };
  t.false(holderIsAlive(reused));
  await writeFile(path.join(h, HOME_LOCK_NAME), JSON.stringify(reused), { mode: 0o600 });
  const lock = await acquireHomeLock(h, '/run/new.sock');
  await lock.release();
  t.true(holderIsAlive({ ...reused, procStart: start }));
});

test('an unreadable (garbage) lock is stale; a symlink at the lock is refused with E_INSECURE_PATH', async (t) => {
  const h = await home(t);
  await writeFile(path.join(h, HOME_LOCK_NAME), 'garbage', { mode: 0o600 });
  const lock = await acquireHomeLock(h, '/run/a.sock');
  await lock.release();
  const target = path.join(h, '..', 'elsewhere');
  await writeFile(target, 'not ours');
  await symlink(target, path.join(h, HOME_LOCK_NAME));
  const error = await t.throwsAsync(acquireHomeLock(h, '/run/a.sock'), { instanceOf: AppError });
  t.is(error?.code, 'E_INSECURE_PATH');
  t.is(await readFile(target, 'utf8'), 'not ours');
});

test('of two holders racing for one home, exactly one wins', async (t) => {
  const h = await home(t);
  const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => acquireHomeLock(h, `/run/${i}.sock`)));
  t.is(results.filter((r) => r.status === 'fulfilled').length, 1);
  for (const r of results) if (r.status === 'rejected') t.is((r.reason as AppError).code, 'E_ALREADY_RUNNING');
});
