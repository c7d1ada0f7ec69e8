import test from 'ava';
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import plist from 'plist';
import { renderLaunchdPlist, renderSystemdUnit, type DaemonLaunchSpec } from '../../../src/service/render.js';
import { readServiceTemplate } from '../../../src/service/templates.js';

const CLI = fileURLToPath(new URL('../../../src/main.js', import.meta.url));

// without systemd-analyze the tests below fail (never skip): they prove nothing otherwise
const verifyTest = test;

/** Everything systemd-analyze says about a unit file; it exits 0 even on warnings, so any output is a failure. */
async function verify(dir: string, unitText: string): Promise<string> {
  const file = path.join(dir, 'mcp-secrets.service');
  await writeFile(file, unitText);
  const runtime = await mkdtemp(path.join(os.tmpdir(), 'mcp-verify-run-'));
  try {
    const r = await execa('systemd-analyze', ['--user', 'verify', file], { env: { XDG_RUNTIME_DIR: runtime }, reject: false, all: true });
    return `${r.all ?? ''}`.trim() + (r.exitCode === 0 ? '' : `\n(exit ${r.exitCode})`);
  } finally {
    await rm(runtime, { recursive: true, force: true });
  }
}

async function spec(dir: string): Promise<DaemonLaunchSpec> {
  return {
    nodePath: await realpath(process.execPath),
    cliPath: CLI,
    repo: path.join(dir, `my repo "q" 'a' $HOME %h back\\slash ;`),
    home: path.join(dir, 'home with space', '.mcp'),
    socket: path.join(dir, 'run dir', 'daemon.sock'),
    pathEnv: '/usr/local/bin:/usr/bin:/bin:/opt/odd $dir/bin',
    keychain: 'napi-keyring',
  };
}

verifyTest('the rendered unit, odd paths included, passes systemd-analyze verify without a word', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcp-verify-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const unit = renderSystemdUnit(await readServiceTemplate('systemd'), await spec(dir));
  t.is(await verify(dir, unit), '');
});

verifyTest('systemd-analyze verify does speak up about a bad unit, so silence means something', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcp-verify-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const unit = renderSystemdUnit(await readServiceTemplate('systemd'), await spec(dir));
  t.regex(await verify(dir, unit.replace('[Service]', '[Service]\nRestartSteps=3')), /Unknown key 'RestartSteps'/);
});

test('the rendered plist parses with the plist package and round-trips odd paths', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcp-verify-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const s = await spec(dir);
  const xml = renderLaunchdPlist(await readServiceTemplate('launchd'), { ...s, repo: `${s.repo} <&> \t` }, { stdoutPath: '/L/out.log', stderrPath: '/L/err.log' });
  const parsed = plist.parse(xml) as Record<string, unknown>;
  t.deepEqual((parsed.ProgramArguments as string[]).slice(2), ['daemon', '--repo', `${s.repo} <&> \t`, '--home', s.home, '--socket', s.socket]);
  t.is((parsed.EnvironmentVariables as Record<string, string>).PATH, s.pathEnv);
  t.is(parsed.ThrottleInterval, 30);
});
