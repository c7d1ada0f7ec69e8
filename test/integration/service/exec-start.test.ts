/**
 * The rendered systemd unit's ExecStart= is a command that really runs the daemon: the unit is
 * rendered from the shipped template as `service install` renders it, its ExecStart= and
 * Environment= lines are read back with systemd's quoting rules, and exactly that argv is started
 * (no shell) with the unit's environment plus what a systemd user manager gives every service.
 *
 * The unit carries no key (service/README.md "Identity"): the daemon finds the identity in the OS
 * keychain, put there once with `mcp-secrets identity import`. Here that keychain is a real
 * gnome-keyring in a private D-Bus session.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { renderSystemdUnit } from '../../../src/service/render.js';
import { readServiceTemplate } from '../../../src/service/templates.js';
import { servicePath } from '../../../src/cli/service.js';
import { daemonFixture, sampleBundle } from '../../helpers/daemon.js';
import { CLI, eventually, runCli } from '../../helpers/e2e.js';
import { keyringTests, startKeyringSession } from '../../helpers/keyring.js';
import { getStatus } from '../../../src/ipc/client.js';
import { parseSystemdWords } from '../../unit/service/systemd-words.js';

const keyringTest = await keyringTests();

/** The value of the one `Key=` line in a unit (the reader only takes one of each here). */
function unitValue(unit: string, key: string): string {
  const lines = unit.split('\n').filter((l) => l.startsWith(`${key}=`));
  if (lines.length !== 1) throw new Error(`expected one ${key}= line, found ${lines.length}`);
  return lines[0]!.slice(key.length + 1);
}

/** The values of every `Key=` line (systemd adds up repeated Environment= lines). */
function unitValues(unit: string, key: string): string[] {
  return unit
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
}

keyringTest('the rendered ExecStart= runs the daemon, which gets fresh from the keychain and stops cleanly on SIGTERM', async (t) => {
  const session = await startKeyringSession('unlocked');
  t.teardown(() => session.stop());
  const d = await daemonFixture(t, { identityInEnv: false, keychain: true });
  await d.commitBundle(sampleBundle('v1'), 'v1');
  const userHome = d.env.HOME!;

  // once, as the docs say: the identity goes into the keychain, not into the unit
  const imported = await runCli(['identity', 'import', '--repo', d.repo], { env: { ...d.env, ...session.env }, cwd: d.repo, input: d.identity });
  t.is(imported.code, 0, imported.stderr);

  const unit = renderSystemdUnit(await readServiceTemplate('systemd'), {
    nodePath: await realpath(process.execPath),
    cliPath: CLI,
    repo: d.repo,
    home: d.home,
    socket: d.socket,
    pathEnv: servicePath(process.env.PATH),
    keychain: 'napi-keyring',
  });
  t.false(unit.includes('AGE-SECRET-KEY'), 'the unit holds no key');
  const argv = parseSystemdWords(unitValue(unit, 'ExecStart'), 'exec');
  t.deepEqual(argv.slice(2), ['daemon', '--repo', d.repo, '--home', d.home, '--socket', d.socket]);
  const unitEnv = Object.fromEntries(
    unitValues(unit, 'Environment')
      .flatMap((value) => parseSystemdWords(value, 'environment'))
      .map((word) => [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)]),
  );
  t.deepEqual(Object.keys(unitEnv), ['PATH', 'MCP_SECRETS_KEYCHAIN']);
  t.is(unitEnv.MCP_SECRETS_KEYCHAIN, 'napi-keyring', 'the daemon uses the backend the identity was imported with');

  // What systemd --user adds for every service: HOME, and the session bus and runtime dir of the user manager.
  const env = { ...unitEnv, HOME: userHome, ...session.env };
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'], shell: false });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => void child.kill('SIGKILL'));

  const fresh = await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`the daemon exited with ${child.exitCode}: ${stderr}`);
      const s = await getStatus({ socketPath: d.socket, timeoutMs: 1000 }).catch(() => undefined);
      return s?.state === 'fresh' ? s : undefined;
    },
    20_000,
    'the daemon to be fresh',
  );
  t.deepEqual(fresh.identity, { source: 'keychain', recipients: [d.recipient], opens: true, opensNothing: [] });
  t.is(fresh.daemon.pid, child.pid!);
  t.is(fresh.daemon.socket, d.socket);

  child.kill('SIGTERM');
  t.is(await exited, 0, stderr);
  t.false(existsSync(d.socket), 'the socket is removed');
  t.false(stderr.includes(d.identity));
  t.true(existsSync(path.join(d.home, '.env')));
});
