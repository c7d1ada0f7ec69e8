/**
 * The rendered systemd unit's ExecStart=, run exactly as systemd would run it: the argv read back
 * with systemd's quoting rules, the unit's Environment= and nothing else, no shell. The identity
 * comes from the keychain (the unit carries none), as the docs tell users.
 */
import { spawn } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { renderSystemdUnit } from '../../../src/service/render.js';
import { readServiceTemplate } from '../../../src/service/templates.js';
import { getStatus } from '../../../src/ipc/client.js';
import { isAppError } from '../../../src/errors.js';
import { parseSystemdWords } from '../../unit/service/systemd-words.js';
import { daemonFixture, sampleBundle } from '../../helpers/daemon.js';
import { CLI, eventually, runCli } from '../../helpers/e2e.js';
import { keyringTests, startKeyringSession } from '../../helpers/keyring.js';

const keyringTest = await keyringTests();

keyringTest("the unit's ExecStart, run as systemd runs it, gives a daemon that becomes fresh and stops cleanly on SIGTERM", async (t) => {
  const session = await startKeyringSession('unlocked');
  t.teardown(() => session.stop());
  const d = await daemonFixture(t, { identityInEnv: false, keychain: true, env: { ...session.env } });
  await d.commitBundle(sampleBundle('v1'), 'v1');
  const imported = await runCli(['identity', 'import'], { env: d.env, cwd: d.repo, input: d.identity + '\n' });
  t.is(imported.code, 0, imported.stderr);

  const unit = renderSystemdUnit(await readServiceTemplate('systemd'), {
    nodePath: await realpath(process.execPath),
    cliPath: CLI,
    repo: d.repo,
    home: d.home,
    socket: d.socket,
    pathEnv: process.env.PATH ?? '/usr/bin:/bin',
  });
  const value = (key: string): string => {
    const line = unit.split('\n').find((l) => l.startsWith(`${key}=`));
    if (!line) throw new Error(`no ${key}= in the unit`);
    return line.slice(key.length + 1);
  };
  const argv = parseSystemdWords(value('ExecStart'), 'exec');
  const unitEnv = Object.fromEntries(parseSystemdWords(value('Environment'), 'environment').map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
  t.deepEqual(argv.slice(2, 4), ['daemon', '--repo'], 'the unit runs the daemon');
  t.false(value('ExecStart').includes('AGE-SECRET-KEY'), 'no key in the unit');

  // systemd gives the service its manager's environment (HOME, the session bus) plus Environment=
  const env = { HOME: d.env.HOME!, XDG_CONFIG_HOME: d.env.XDG_CONFIG_HOME!, ...session.env, ...unitEnv };
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  t.teardown(() => void child.kill('SIGKILL'));
  const status = await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`the daemon exited ${child.exitCode}: ${stderr}`);
      try {
        const s = await getStatus({ socketPath: d.socket, timeoutMs: 1_000 });
        return s.state === 'fresh' ? s : undefined;
      } catch (error) {
        if (isAppError(error) && error.code === 'E_DAEMON_UNREACHABLE') return undefined;
        throw error;
      }
    },
    20_000,
    'the unit-started daemon to become fresh',
  );
  t.is(status.identity.source, 'keychain');
  t.is(status.source.path, path.join(d.repo, 'config', 'secrets.enc.yaml'));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  t.is(await exited, 0);
  t.false(existsSync(d.socket), 'socket removed');
});
