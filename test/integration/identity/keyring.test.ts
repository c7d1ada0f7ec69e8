/**
 * The identity commands and the resolution order against a REAL Secret Service (gnome-keyring in
 * a private D-Bus session), through the built CLI and through keytar in this process.
 */
import test from 'ava';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { execa } from 'execa';
import { keytarKeychain } from '../../../src/identity/keychain/keytar.js';
import { resolveIdentities } from '../../../src/identity/resolve.js';
import { keyringTests, keyringUnavailable, startKeyringSession, type KeyringSession } from '../../helpers/keyring.js';

const MAIN = fileURLToPath(new URL('../../../src/main.js', import.meta.url));
const keyringTest = await keyringTests();

let session: KeyringSession | null = null;
let home = '';

test.before(async () => {
  if ((await keyringUnavailable()) !== null) return;
  session = await startKeyringSession('unlocked');
  home = await mkdtemp(path.join(os.tmpdir(), 'mcp-identity-home-'));
  // keytar (libsecret) in THIS process reads the bus address from process.env on first use.
  process.env.DBUS_SESSION_BUS_ADDRESS = session.env.DBUS_SESSION_BUS_ADDRESS;
});

test.after.always(async () => {
  await session?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

function cli(args: string[], options: { input?: string; env?: Record<string, string> } = {}) {
  return execa('node', [MAIN, ...args], {
    cwd: home,
    env: { PATH: process.env.PATH ?? '', HOME: home, ...session?.env, ...options.env },
    extendEnv: false,
    reject: false,
    input: options.input ?? '',
  });
}

async function key(): Promise<{ line: string; recipient: string }> {
  const line = await generateX25519Identity();
  return { line, recipient: await identityToRecipient(line) };
}

async function stored(): Promise<string[]> {
  return keytarKeychain().listRecipients();
}

keyringTest('imports from stdin, shows the recipient, and forgets it', async (t) => {
  await cli(['identity', 'forget', '--all']);
  const k = await key();
  const imported = await cli(['identity', 'import'], { input: `# created: now\n# public key: ${k.recipient}\n${k.line}\n` });
  t.is(imported.exitCode, 0, imported.stderr);
  t.is(imported.stdout, `stored ${k.recipient} in the OS keychain (keytar)`);
  t.deepEqual(await stored(), [k.recipient]);
  t.is(await keytarKeychain().get(k.recipient), k.line);

  const shown = await cli(['identity', 'show', '--json']);
  t.deepEqual(JSON.parse(shown.stdout).identities, [{ recipient: k.recipient, opensBundle: null, inSopsConfig: null, opensNothingYet: null }]);

  const forgot = await cli(['identity', 'forget', k.recipient]);
  t.is(forgot.exitCode, 0, forgot.stderr);
  t.deepEqual(await stored(), []);
  for (const r of [imported, shown, forgot]) t.false(`${r.stdout}${r.stderr}`.includes(k.line));
});

keyringTest('imports with --file and --from-env, and forgets all with --all', async (t) => {
  await cli(['identity', 'forget', '--all']);
  const [a, b] = await Promise.all([key(), key()]);
  const file = path.join(home, 'a.txt');
  await writeFile(file, `${a.line}\r\n`, { mode: 0o600 });
  t.is((await cli(['identity', 'import', '--file', file])).exitCode, 0);
  await rm(file);
  t.is((await cli(['identity', 'import', '--from-env'], { env: { SOPS_AGE_KEY: b.line } })).exitCode, 0);
  t.deepEqual(await stored(), [a.recipient, b.recipient].sort());

  const piped = await cli(['identity', 'sops-key']);
  t.deepEqual(piped.stdout.split('\n').sort(), [a.line, b.line].sort());

  const forgot = await cli(['identity', 'forget', '--all']);
  t.is(forgot.exitCode, 0);
  t.is(forgot.stdout.split('\n').length, 2);
  t.deepEqual(await stored(), []);
});

keyringTest('resolves from the keychain alone when there is no env key and no key file', async (t) => {
  await cli(['identity', 'forget', '--all']);
  const k = await key();
  await cli(['identity', 'import'], { input: k.line });
  const { identities, attempts } = await resolveIdentities({ env: { HOME: home }, keychain: keytarKeychain(), cache: true });
  t.deepEqual(identities, [{ line: k.line, recipient: k.recipient, source: 'keychain', origin: 'keychain' }]);
  t.deepEqual(attempts[0], { source: 'keychain', outcome: 'found 1 identity' });
});

keyringTest('caches an identity from SOPS_AGE_KEY and a key file into the keychain, and finds it there next time', async (t) => {
  await cli(['identity', 'forget', '--all']);
  const [fromEnv, fromFile] = await Promise.all([key(), key()]);
  const keyFile = path.join(home, '.config', 'sops', 'age', 'keys.txt');
  await mkdir(path.dirname(keyFile), { recursive: true });
  await writeFile(keyFile, `${fromFile.line}\n`, { mode: 0o600 });
  t.teardown(() => rm(path.join(home, '.config'), { recursive: true, force: true }));

  const notices: string[] = [];
  const env = { HOME: home, SOPS_AGE_KEY: fromEnv.line };
  const first = await resolveIdentities({ env, keychain: keytarKeychain(), cache: true, onNotice: (m) => notices.push(m) });
  t.deepEqual(
    first.identities.map((i) => i.source),
    ['env', 'file'],
  );
  t.deepEqual(await stored(), [fromEnv.recipient, fromFile.recipient].sort());
  t.is(notices.length, 2);
  t.true(notices[1]?.includes(keyFile));

  const second = await resolveIdentities({ env: { HOME: path.join(home, 'nowhere') }, keychain: keytarKeychain(), cache: true, onNotice: (m) => notices.push(m) });
  t.deepEqual(
    second.identities.map((i) => [i.recipient, i.source]).sort(),
    [
      [fromEnv.recipient, 'keychain'],
      [fromFile.recipient, 'keychain'],
    ].sort(),
  );
  t.is(notices.length, 2);
});
