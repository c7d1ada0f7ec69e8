import test, { type ExecutionContext } from 'ava';
import { mkdir, open, symlink, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { isAppError, type AppError } from '../../../src/errors.js';
import { READ_LIMITS, readBounded, readBoundedText, readHandleUpTo } from '../../../src/fsx/read-bounded.js';
import { tempDir } from '../../helpers/temp.js';

const opts = { limit: 1024, what: 'the test file' };

async function refusal(t: ExecutionContext, promise: Promise<unknown>): Promise<AppError> {
  const error = await t.throwsAsync(promise);
  if (!isAppError(error)) throw new Error(`expected an AppError, got ${String(error)}`);
  return error;
}

test('reads a regular file within the limit, and one of exactly the limit', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'a.txt');
  await writeFile(file, 'hello\n');
  t.is(await readBoundedText(file, opts), 'hello\n');
  await writeFile(file, Buffer.alloc(1024, 0x61));
  t.is((await readBounded(file, opts)).length, 1024);
  await writeFile(file, '');
  t.is((await readBounded(file, opts)).length, 0);
});

test('refuses a regular file over the limit by its size, before reading it', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'big.bin');
  // sparse: 600 MB of size, no disk; reading it all would cost 600 MB of memory
  await writeFile(file, '');
  await truncate(file, 600 * 1024 * 1024);
  const before = process.memoryUsage().rss;
  const error = await refusal(t, readBounded(file, { limit: READ_LIMITS.bundle, what: 'the bundle' }));
  t.is(error.code, 'E_PARSE');
  t.is(error.details?.refused, 'too-large');
  t.is(error.details?.size, 600 * 1024 * 1024);
  t.regex(error.message, /the bundle .*big\.bin is 600 MiB: refused \(only a regular file of at most 32 MiB is read\)/);
  t.true(process.memoryUsage().rss - before < 64 * 1024 * 1024, 'nothing near the file size was allocated');
  const over = path.join(dir, 'over.txt');
  await writeFile(over, Buffer.alloc(1025, 0x61));
  t.is((await refusal(t, readBounded(over, opts))).details?.refused, 'too-large');
});

test('refuses a symlink unless asked to follow it, and then reads its regular target', async (t) => {
  const dir = await tempDir(t);
  const target = path.join(dir, 'target.txt');
  const link = path.join(dir, 'link.txt');
  await writeFile(target, 'target\n');
  await symlink(target, link);
  const error = await refusal(t, readBounded(link, opts));
  t.is(error.details?.refused, 'symlink');
  t.regex(error.message, /is a symbolic link/);
  t.regex(error.hint ?? '', /regular file/);
  t.is(await readBoundedText(link, { ...opts, followSymlinks: true }), 'target\n');
});

test('refuses /dev/zero, directly and through a symlink, whether or not symlinks are followed', async (t) => {
  const dir = await tempDir(t);
  const link = path.join(dir, 'zero');
  await symlink('/dev/zero', link);
  for (const [file, follow] of [['/dev/zero', false], ['/dev/zero', true], [link, false], [link, true]] as const) {
    const error = await refusal(t, readBounded(file, { ...opts, followSymlinks: follow }));
    t.is(error.details?.refused, file === link && !follow ? 'symlink' : 'not-regular', `${file} follow=${follow}`);
  }
  t.regex((await refusal(t, readBounded('/dev/zero', opts))).message, /is a character device/);
});

test('refuses a FIFO without blocking on it, even one with no writer', async (t) => {
  const dir = await tempDir(t);
  const fifo = path.join(dir, 'fifo');
  await execa('mkfifo', [fifo]);
  for (const follow of [false, true]) {
    const error = await refusal(t, readBounded(fifo, { ...opts, followSymlinks: follow }));
    t.is(error.details?.refused, 'not-regular');
    t.regex(error.message, /is a FIFO \(named pipe\)/);
  }
  const link = path.join(dir, 'to-fifo');
  await symlink(fifo, link);
  t.is((await refusal(t, readBounded(link, { ...opts, followSymlinks: true }))).details?.refused, 'not-regular');
});

test('refuses a directory, and passes the file system error through for a missing file', async (t) => {
  const dir = await tempDir(t);
  await mkdir(path.join(dir, 'd'));
  t.is((await refusal(t, readBounded(path.join(dir, 'd'), opts))).details?.refused, 'not-regular');
  const missing = await t.throwsAsync(readBounded(path.join(dir, 'nope'), opts));
  t.is((missing as NodeJS.ErrnoException).code, 'ENOENT');
});

test('uses the code and the hint the caller gives', async (t) => {
  const error = await refusal(t, readBounded('/dev/null', { ...opts, code: 'E_SOURCE_MISSING', hint: 'check --source' }));
  t.is(error.code, 'E_SOURCE_MISSING');
  t.regex(error.hint ?? '', /check --source$/);
});

test('readHandleUpTo: a whole small file from a small buffer, a file that outgrew its fstat size, null past the limit', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'trust.json');
  await writeFile(file, '{"kind":"x"}');
  const read = async (sizeHint: number, limit: number): Promise<string | null> => {
    const handle = await open(file, 'r');
    try {
      return (await readHandleUpTo(handle, sizeHint, limit))?.toString('utf8') ?? null;
    } finally {
      await handle.close();
    }
  };
  t.is(await read(12, 4 * 1024 * 1024), '{"kind":"x"}');
  // fstat said 2 bytes (the file grew since): the buffer grows, every byte is read
  t.is(await read(2, 1024), '{"kind":"x"}');
  t.is(await read(0, 12), '{"kind":"x"}');
  t.is(await read(0, 11), null);
  t.is(await read(100, 11), null);
});
