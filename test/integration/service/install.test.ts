import test from 'ava';
import { mkdir, mkdtemp, readFile, readdir, realpath, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import plist from 'plist';
import { runCli } from '../../../src/cli/run.js';
import { reportError } from '../../../src/cli/report.js';
import { createServiceCommand } from '../../../src/cli/service.js';
import type { CommandInput } from '../../../src/cli/types.js';
import type { StatusDocument } from '../../../src/ipc/status.js';
import { makeFakeServiceTools, type FakeTools } from './fakes.js';
import { captureIo } from './io.js';

interface Sandbox {
  home: string;
  repo: string;
  tools: FakeTools;
  env: Record<string, string>;
  unit: string;
}

async function sandbox(t: { teardown(fn: () => Promise<void>): void }, mode = 'ok'): Promise<Sandbox> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'mcp-svc-'));
  const tools = await makeFakeServiceTools();
  t.teardown(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(tools.dir, { recursive: true, force: true });
  });
  const home = path.join(root, 'home');
  const repo = path.join(root, 'my repo');
  await mkdir(home);
  await mkdir(repo);
  const env = { HOME: home, PATH: `${path.join(tools.dir, 'bin')}:${process.env.PATH ?? ''}`, FAKE_SERVICE_LOG: tools.log, FAKE_SERVICE_MODE: mode };
  return { home, repo, tools, env, unit: path.join(home, '.config', 'systemd', 'user', 'mcp-secrets.service') };
}

/** `service` without the IPC wait: these tests are about files and systemctl calls, not the daemon. */
const offline = createServiceCommand();
function service(sub: string, values: CommandInput['values'], io: ReturnType<typeof captureIo>): Promise<number> {
  return offline.run({ values, positionals: [sub] }, io);
}

const INSTALL_CALLS = [
  ['systemctl', '--user', 'daemon-reload'],
  ['systemctl', '--user', 'enable', '--now', 'mcp-secrets.service'],
];

test('a dry run prints the unit and the commands and touches nothing', async (t) => {
  const s = await sandbox(t);
  const io = captureIo(s.env, s.repo);
  t.is(await runCli(['service', 'install', '--dry-run', '--repo', s.repo], io), 0);
  t.regex(io.out(), /would write .*mcp-secrets\.service/);
  t.regex(io.out(), /^ExecStart=".*" "daemon" "--repo" ".*my repo"/m);
  t.regex(io.out(), /^systemctl --user daemon-reload$/m);
  t.regex(io.out(), /^systemctl --user enable --now mcp-secrets\.service$/m);
  t.deepEqual(await readdir(s.home), []);
  t.deepEqual(await s.tools.calls(), []);

  const un = captureIo(s.env, s.repo);
  t.is(await runCli(['service', 'uninstall', '--dry-run'], un), 0);
  t.regex(un.out(), /systemctl --user disable --now mcp-secrets\.service/);
  t.deepEqual(await s.tools.calls(), []);
});

test('install writes the unit and runs exactly daemon-reload and enable --now; again, it rewrites nothing', async (t) => {
  const s = await sandbox(t);
  const io = captureIo(s.env, s.repo);
  t.is(await service('install', { repo: s.repo }, io), 0, io.err());
  const info = await stat(s.unit);
  t.is(info.mode & 0o777, 0o644);
  const unit = await readFile(s.unit, 'utf8');
  t.true(unit.includes(`ExecStart="${await realpath(process.execPath)}" `));
  t.true(unit.includes(`"--repo" "${s.repo}" "--home" "${path.join(s.home, '.mcp')}"`));
  t.deepEqual(await s.tools.calls(), INSTALL_CALLS);
  t.regex(io.out(), /^wrote /m);
  t.regex(io.out(), /status not checked/);
  t.deepEqual((await readdir(path.dirname(s.unit))).sort(), ['mcp-secrets.service'], 'no temp file left');

  const again = captureIo(s.env, s.repo);
  t.is(await service('install', { repo: s.repo }, again), 0);
  const after = await stat(s.unit);
  t.is(after.ino, info.ino);
  t.is(after.mtimeMs, info.mtimeMs);
  t.regex(again.out(), /^unchanged /m);
  t.deepEqual(await s.tools.calls(), [...INSTALL_CALLS, ...INSTALL_CALLS]);
});

test('install with a changed home rewrites the unit and restarts the running service', async (t) => {
  const s = await sandbox(t);
  t.is(await service('install', { repo: s.repo }, captureIo(s.env, s.repo)), 0);
  t.is(await service('install', { repo: s.repo, home: path.join(s.home, 'other') }, captureIo(s.env, s.repo)), 0);
  t.true((await readFile(s.unit, 'utf8')).includes(`"--home" "${path.join(s.home, 'other')}"`));
  t.deepEqual((await s.tools.calls()).slice(2), [...INSTALL_CALLS, ['systemctl', '--user', 'restart', 'mcp-secrets.service']]);
});

test('uninstall disables and stops the service, removes the unit and reloads', async (t) => {
  const s = await sandbox(t);
  t.is(await service('install', { repo: s.repo }, captureIo(s.env, s.repo)), 0);
  const io = captureIo(s.env, s.repo);
  t.is(await runCli(['service', 'uninstall'], io), 0);
  await t.throwsAsync(stat(s.unit), { code: 'ENOENT' });
  t.deepEqual((await s.tools.calls()).slice(2), [
    ['systemctl', '--user', 'disable', '--now', 'mcp-secrets.service'],
    ['systemctl', '--user', 'daemon-reload'],
  ]);
  const again = captureIo(s.env, s.repo);
  t.is(await runCli(['service', 'uninstall'], again), 0);
  t.regex(again.out(), /not installed/);
  t.is((await s.tools.calls()).length, 4);
});

test('without a user manager, install explains, prints the manual command and leaves nothing behind', async (t) => {
  const s = await sandbox(t, 'nobus');
  const io = captureIo(s.env, s.repo);
  t.is(await runCli(['service', 'install', '--repo', s.repo], io), 2);
  t.regex(io.err(), /systemd --user is not available \(systemctl said: Failed to connect to bus: No medium found\); nothing was installed/);
  t.true(io.err().includes(`daemon --repo '${s.repo}' --home ${path.join(s.home, '.mcp')}`));
  t.regex(io.err(), /nohup /);
  await t.throwsAsync(stat(s.unit), { code: 'ENOENT' });

  const st = captureIo(s.env, s.repo);
  t.is(await runCli(['service', 'status'], st), 3);
  t.regex(st.out(), /manager: systemd --user is not available/);
});

test('without systemctl at all, install says so instead of failing obscurely', async (t) => {
  const s = await sandbox(t);
  const io = captureIo({ ...s.env, PATH: '/nonexistent' }, s.repo);
  const cmd = createServiceCommand({ execPath: process.execPath });
  const code = await cmd.run({ values: { repo: s.repo }, positionals: ['install'] }, io);
  t.is(code, 2);
  t.regex(io.err(), /systemctl is not installed/);
});

test('status reports installed, enabled, running and the daemon state from the injected client', async (t) => {
  const s = await sandbox(t);
  const status = { state: 'fresh', fresh: true, secretsVersion: '2026.11.3', entries: 12, daemon: { pid: 77 } } as unknown as StatusDocument;
  const sockets: string[] = [];
  const cmd = createServiceCommand({
    waitForDaemon: async ({ socket }) => {
      sockets.push(socket);
      return status;
    },
  });
  const input: CommandInput = { values: { repo: s.repo }, positionals: ['install'] };
  const io = captureIo(s.env, s.repo);
  t.is(await cmd.run(input, io), 0);
  t.regex(io.out(), /daemon: fresh · secrets 2026\.11\.3 · 12 entries · pid 77/);
  const st = captureIo(s.env, s.repo);
  t.is(await cmd.run({ values: {}, positionals: ['status'] }, st), 0);
  t.regex(st.out(), /installed: yes\nenabled: yes\nrunning: yes \(active\)\ndaemon: fresh/);
  t.is(sockets[0], path.join(s.home, '.mcp', 'run', 'daemon.sock'));

  const json = captureIo(s.env, s.repo);
  t.is(await cmd.run({ values: { json: true }, positionals: ['status'] }, json), 0);
  const report = JSON.parse(json.out()) as Record<string, unknown>;
  t.like(report, { manager: 'systemd', installed: true, enabled: true, running: true });
});

test('install exits 3 and points at the journal when the daemon does not answer', async (t) => {
  const s = await sandbox(t);
  const cmd = createServiceCommand({ waitForDaemon: async () => null });
  const io = captureIo(s.env, s.repo);
  t.is(await cmd.run({ values: { repo: s.repo }, positionals: ['install'] }, io), 3);
  t.regex(io.err(), /journalctl --user -u mcp-secrets\.service/);
});

test('on macOS, install writes the plist and bootstraps it; unchanged and loaded, it does nothing; uninstall boots it out', async (t) => {
  const s = await sandbox(t);
  const cmd = createServiceCommand({ platform: 'darwin', uid: () => 501 });
  const io = captureIo(s.env, s.repo);
  t.is(await cmd.run({ values: { repo: s.repo }, positionals: ['install'] }, io), 0, io.err());
  const file = path.join(s.home, 'Library', 'LaunchAgents', 'dev.mcp-secrets.daemon.plist');
  const parsed = plist.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  t.is(parsed.Label, 'dev.mcp-secrets.daemon');
  t.is((parsed.ProgramArguments as string[])[0], await realpath(process.execPath));
  t.is(parsed.StandardErrorPath, path.join(s.home, 'Library', 'Logs', 'mcp-secrets', 'daemon.err.log'));
  t.is((await stat(path.join(s.home, 'Library', 'Logs', 'mcp-secrets'))).mode & 0o777, 0o700);
  t.deepEqual(await s.tools.calls(), [
    ['launchctl', 'print', 'gui/501/dev.mcp-secrets.daemon'],
    ['launchctl', 'bootstrap', 'gui/501', file],
  ]);

  t.is(await cmd.run({ values: { repo: s.repo }, positionals: ['install'] }, captureIo(s.env, s.repo)), 0);
  t.deepEqual((await s.tools.calls()).slice(2), [['launchctl', 'print', 'gui/501/dev.mcp-secrets.daemon']]);

  const st = captureIo(s.env, s.repo);
  t.is(await cmd.run({ values: {}, positionals: ['status'] }, st), 0);
  t.regex(st.out(), /enabled: yes\nrunning: yes \(running\)/);

  t.is(await cmd.run({ values: {}, positionals: ['uninstall'] }, captureIo(s.env, s.repo)), 0);
  await t.throwsAsync(stat(file), { code: 'ENOENT' });
  t.deepEqual((await s.tools.calls()).slice(-2), [
    ['launchctl', 'print', 'gui/501/dev.mcp-secrets.daemon'],
    ['launchctl', 'bootout', 'gui/501/dev.mcp-secrets.daemon'],
  ]);
});

test('refuses Windows with a clear not-supported error', async (t) => {
  const s = await sandbox(t);
  const io = captureIo(s.env, s.repo);
  const cmd = createServiceCommand({ platform: 'win32' });
  const code = await cmd.run({ values: {}, positionals: ['install'] }, io).catch((e: unknown) => reportError(e, io, false));
  t.is(code, 64);
  t.regex(io.err(), /not supported on win32 yet/);
});

test('finds the repo from the git top level when --repo is not given, and refuses outside one', async (t) => {
  const s = await sandbox(t);
  await execa('git', ['init', '-q', s.repo]);
  const sub = path.join(s.repo, 'deep', 'er');
  await mkdir(sub, { recursive: true });
  const io = captureIo(s.env, sub);
  t.is(await runCli(['service', 'install', '--dry-run'], io), 0);
  t.true(io.out().includes(`"--repo" "${await realpath(s.repo)}"`));

  const outside = captureIo(s.env, s.home);
  t.is(await runCli(['service', 'install', '--dry-run'], outside), 2);
  t.regex(outside.err(), /E_NO_REPO: not inside a git work tree/);
});

test('an unknown subcommand is a usage error', async (t) => {
  const s = await sandbox(t);
  const io = captureIo(s.env, s.repo);
  t.is(await runCli(['service', 'restart'], io), 64);
  t.regex(io.err(), /expected install, uninstall or status/);
});
