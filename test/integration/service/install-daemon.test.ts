/**
 * `mcp-secrets service install` (the built CLI, its real IPC wait) against a fake systemctl whose
 * `enable --now` really starts the unit's ExecStart= in the background, as a user manager would:
 * install prints the state the daemon answers with.
 */
import test from 'ava';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { daemonFixture, sampleBundle } from '../../helpers/daemon.js';
import { eventually, runCli } from '../../helpers/e2e.js';
import { TEST_TMPDIR } from './io.js';
import { makeFakeServiceTools } from './fakes.js';

const WORDS = pathToFileURL(fileURLToPath(new URL('../../unit/service/systemd-words.js', import.meta.url))).href;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('install starts the service and prints the state its daemon answers with', async (t) => {
  const d = await daemonFixture(t, { identityInEnv: false });
  await d.commitBundle(sampleBundle('v1'), 'v1');
  const tools = await makeFakeServiceTools();
  t.teardown(() => rm(tools.dir, { recursive: true, force: true }));
  // the unit holds no key: this daemon (no keychain bus here) finds it in the default key file
  const userHome = d.env.HOME!;
  const keyFile = path.join(userHome, '.config', 'sops', 'age', 'keys.txt');
  await mkdir(path.dirname(keyFile), { recursive: true, mode: 0o700 });
  await writeFile(keyFile, `${d.identity}\n`, { mode: 0o600 });

  const env = { HOME: userHome, TMPDIR: TEST_TMPDIR, PATH: `${path.join(tools.dir, 'bin')}:${process.env.PATH ?? ''}`, FAKE_SERVICE_LOG: tools.log, FAKE_SERVICE_MODE: 'start', FAKE_SYSTEMD_WORDS: WORDS };
  const installed = await runCli(['service', 'install', '--repo', d.repo, '--home', d.home, '--socket', d.socket], { env, cwd: d.repo });
  const pid = Number(await readFile(`${tools.log}.pid`, 'utf8').catch(() => '0'));
  t.teardown(() => {
    if (pid > 0 && isRunning(pid)) process.kill(pid, 'SIGTERM');
  });
  t.is(installed.code, 0, installed.stderr);
  t.true(pid > 0, 'the fake manager started the daemon');
  t.regex(installed.stdout, new RegExp(`^daemon: fresh · secrets v1 · 3 entries · pid ${pid}$`, 'm'));
  t.deepEqual((await d.status()).identity, { source: 'file', recipients: [d.recipient], opens: true, opensNothing: [] });

  process.kill(pid, 'SIGTERM');
  await eventually(() => (isRunning(pid) ? undefined : true), 10_000, 'the daemon to stop');
});
