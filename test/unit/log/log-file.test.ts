import test from 'ava';
import { chmod, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../../src/errors.js';
import { PrivateLogFile } from '../../../src/log-file.js';
import { createLogger, Redactor } from '../../../src/log.js';
import { tempDir } from '../../helpers/temp.js';

test('a logs directory that is a symlink is refused, and the directory it points to is left as it was', async (t) => {
  const dir = await tempDir(t);
  const home = path.join(dir, 'home');
  const target = path.join(dir, 'some-dir');
  await mkdir(home, { mode: 0o700 });
  await mkdir(target);
  await chmod(target, 0o755);
  await symlink(target, path.join(home, 'logs'));
  const error = t.throws(() => new PrivateLogFile({ dir: path.join(home, 'logs') }), { instanceOf: AppError });
  t.is(error?.code, 'E_INSECURE_PATH');
  t.is((await stat(target)).mode & 0o777, 0o755);
  t.deepEqual(await readdir(target), []);
});

test('a daemon.log that is a symlink is refused, never appended through', async (t) => {
  const dir = await tempDir(t);
  const logs = path.join(dir, 'logs');
  await mkdir(logs, { mode: 0o700 });
  const victim = path.join(dir, 'victim.txt');
  await writeFile(victim, 'untouched\n');
  await symlink(victim, path.join(logs, 'daemon.log'));
  const redactor = new Redactor();
  const error = t.throws(() => createLogger({ level: 'info', redactor, stderr: false, logDir: logs }), { instanceOf: AppError });
  t.is(error?.code, 'E_INSECURE_PATH');
  t.is(await readFile(victim, 'utf8'), 'untouched\n');
});

test('a logs directory we own but left open is closed to 0700, and the file is 0600', async (t) => {
  const dir = await tempDir(t);
  const logs = path.join(dir, 'logs');
  await mkdir(logs);
  await chmod(logs, 0o755);
  const logger = createLogger({ level: 'info', redactor: new Redactor(), stderr: false });
  logger.attachLogFile(logs);
  logger.info('hello');
  await logger.close();
  t.is((await stat(logs)).mode & 0o777, 0o700);
  t.is((await stat(path.join(logs, 'daemon.log'))).mode & 0o777, 0o600);
  t.regex(await readFile(path.join(logs, 'daemon.log'), 'utf8'), /"message":"hello"/);
});

test('rotates by size into daemon.log.1 and daemon.log.2 and drops older lines', async (t) => {
  const dir = await tempDir(t);
  const logs = path.join(dir, 'logs');
  const logger = createLogger({ level: 'info', redactor: new Redactor(), stderr: false, logDir: logs, maxFileBytes: 200, maxFiles: 3 });
  for (let i = 0; i < 40; i++) logger.info(`line ${i}`);
  await logger.close();
  t.deepEqual((await readdir(logs)).sort(), ['daemon.log', 'daemon.log.1', 'daemon.log.2']);
  for (const name of await readdir(logs)) t.is((await stat(path.join(logs, name))).mode & 0o777, 0o600);
  t.false(existsSync(path.join(logs, 'daemon.log.3')));
});
