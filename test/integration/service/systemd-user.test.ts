import test from 'ava';
import { chmod, mkdir, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { createServiceCommand, servicePath } from '../../../src/cli/service.js';
import { captureIo } from './io.js';
import { poll, startUserManager } from './user-manager.js';

// where systemd --user cannot run, each test below fails (never skips): it would prove nothing otherwise
const realTest = test.serial;

/** A stand-in daemon: records its argv, umask and PATH, then stays up until stopped. */
function recorderScript(record: string): string {
  return `#!/usr/bin/env node
'use strict';
require('fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify({ argv: process.argv, pid: process.pid, umask: process.umask(), path: process.env.PATH }));
setInterval(() => {}, 1000);
process.on('SIGTERM', () => process.exit(0));
`;
}

realTest('a real systemd user manager runs the installed unit with the exact argv, umask 077, and stops it on uninstall', async (t) => {
  const manager = await startUserManager();
  if (typeof manager === 'string') return t.fail(`systemd --user is needed for this test: ${manager}`);
  t.teardown(() => manager.stop());

  const work = path.join(manager.home, 'work');
  await mkdir(work);
  const repo = path.join(work, `my repo "q" 'a' $HOME %h back\\slash ; tab\there new\nline é`);
  const home = path.join(work, 'mcp home %n', '.mcp');
  await mkdir(repo);
  const record = path.join(work, 'record.json');
  const script = path.join(work, 'fake daemon.js');
  await writeFile(script, recorderScript(record));
  await chmod(script, 0o755);

  // the stand-in lives in a temp dir, which a real install refuses (tested in test/unit/service/cli-location)
  const cmd = createServiceCommand({ cliPath: script, checkCliPath: () => {} });
  const io = captureIo(manager.env, repo);
  t.is(await cmd.run({ values: { repo, home }, positionals: ['install'] }, io), 0, io.err());
  t.true(await poll(() => stat(record).then(() => true, () => false), 10_000), 'the service started');

  const seen = JSON.parse(await readFile(record, 'utf8')) as { argv: string[]; pid: number; umask: number; path: string };
  const socket = path.join(manager.runtimeDir, 'mcp-secrets', 'daemon.sock');
  t.deepEqual(seen.argv, [await realpath(process.execPath), script, 'daemon', '--repo', repo, '--home', home, '--socket', socket]);
  t.is(seen.umask, 0o077);
  t.is(seen.path, servicePath(manager.env.PATH));

  const status = captureIo(manager.env, repo);
  t.is(await cmd.run({ values: {}, positionals: ['status'] }, status), 0, status.out() + status.err());
  t.regex(status.out(), /installed: yes\nenabled: yes\nrunning: yes \(active\)/);

  const again = captureIo(manager.env, repo);
  t.is(await cmd.run({ values: { repo, home }, positionals: ['install'] }, again), 0);
  t.regex(again.out(), /^unchanged /m);
  const show = await execa('systemctl', ['--user', 'show', '-p', 'MainPID', '--value', 'mcp-secrets.service'], { env: manager.env, extendEnv: false });
  t.is(Number(show.stdout.trim()), seen.pid, 'an unchanged re-install does not restart the daemon');

  const un = captureIo(manager.env, repo);
  t.is(await cmd.run({ values: {}, positionals: ['uninstall'] }, un), 0, un.err());
  t.true(await poll(async () => {
    try {
      process.kill(seen.pid, 0);
      return false;
    } catch {
      return true;
    }
  }, 10_000), 'the daemon was stopped');
  const enabled = await execa('systemctl', ['--user', 'is-enabled', 'mcp-secrets.service'], { env: manager.env, extendEnv: false, reject: false });
  t.not(enabled.exitCode, 0);
});
