/**
 * The identity commands and the resolution order against a REAL Secret Service (gnome-keyring in
 * a private D-Bus session), through the built CLI and through the backend in this process: once
 * with the default backend (@napi-rs/keyring), once with keytar (MCP_SECRETS_KEYCHAIN=keytar), and
 * the two side by side (an item one writes is invisible to the other: the copy command).
 */
import test from 'ava';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { execa } from 'execa';
import type { ExecutionContext } from 'ava';
import { openKeychainStore, type KeychainStore } from '../../../src/identity/keychain/index.js';
import { resolveIdentities } from '../../../src/identity/resolve.js';
import { keyringTests, keyringUnavailable, keytarTests, startKeyringSession, type KeyringSession } from '../../helpers/keyring.js';

const MAIN = fileURLToPath(new URL('../../../src/main.js', import.meta.url));
type Register = (title: string, fn: (t: ExecutionContext) => Promise<void>) => void;
const registerFor: Record<KeychainStore, Register> = { 'napi-keyring': await keyringTests(), keytar: await keytarTests() };

let session: KeyringSession | null = null;
let home = '';

test.before(async () => {
  if ((await keyringUnavailable()) !== null) return;
  session = await startKeyringSession('unlocked');
  home = await mkdtemp(path.join(os.tmpdir(), 'mcp-identity-home-'));
  // both libraries in THIS process read the bus address from process.env.
  process.env.DBUS_SESSION_BUS_ADDRESS = session.env.DBUS_SESSION_BUS_ADDRESS;
});

test.after.always(async () => {
  await session?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

function cli(args: string[], options: { input?: string; env?: Record<string, string>; store?: KeychainStore } = {}) {
  return execa('node', [MAIN, ...args], {
    cwd: home,
    env: { PATH: process.env.PATH ?? '', HOME: home, ...session?.env, ...(options.store ? { MCP_SECRETS_KEYCHAIN: options.store } : {}), ...options.env },
    extendEnv: false,
    reject: false,
    input: options.input ?? '',
  });
}

async function key(): Promise<{ line: string; recipient: string }> {
  const line = await generateX25519Identity();
  return { line, recipient: await identityToRecipient(line) };
}

const inProcess = (store: KeychainStore) => openKeychainStore(store, process.env);

for (const store of ['napi-keyring', 'keytar'] as const) {
  const keyringTest = registerFor[store];
  const stored = () => inProcess(store).listRecipients();
  const run = (args: string[], options: { input?: string; env?: Record<string, string> } = {}) => cli(args, { ...options, store });

  keyringTest(`${store}: imports from stdin, shows the recipient, and forgets it`, async (t) => {
    await run(['identity', 'forget', '--all']);
    const k = await key();
    const imported = await run(['identity', 'import'], { input: `# created: now\n# public key: ${k.recipient}\n${k.line}\n` });
    t.is(imported.exitCode, 0, imported.stderr);
    t.is(imported.stdout, `stored ${k.recipient} in the OS keychain (${store})`);
    t.deepEqual(await stored(), [k.recipient]);
    t.is(await inProcess(store).get(k.recipient), k.line);

    const shown = await run(['identity', 'show', '--json']);
    t.deepEqual(JSON.parse(shown.stdout).identities, [{ recipient: k.recipient, opensBundle: null, inSopsConfig: null, opensNothingYet: null }]);

    const forgot = await run(['identity', 'forget', k.recipient]);
    t.is(forgot.exitCode, 0, forgot.stderr);
    t.deepEqual(await stored(), []);
    for (const r of [imported, shown, forgot]) t.false(`${r.stdout}${r.stderr}`.includes(k.line));
  });

  keyringTest(`${store}: imports with --file and --from-env, and forgets all with --all`, async (t) => {
    await run(['identity', 'forget', '--all']);
    const [a, b] = await Promise.all([key(), key()]);
    const file = path.join(home, 'a.txt');
    await writeFile(file, `${a.line}\r\n`, { mode: 0o600 });
    t.is((await run(['identity', 'import', '--file', file])).exitCode, 0);
    await rm(file);
    t.is((await run(['identity', 'import', '--from-env'], { env: { SOPS_AGE_KEY: b.line } })).exitCode, 0);
    t.deepEqual(await stored(), [a.recipient, b.recipient].sort());

    const piped = await run(['identity', 'sops-key']);
    t.deepEqual(piped.stdout.split('\n').sort(), [a.line, b.line].sort());

    const forgot = await run(['identity', 'forget', '--all']);
    t.is(forgot.exitCode, 0);
    t.is(forgot.stdout.split('\n').length, 2);
    t.deepEqual(await stored(), []);
  });

  keyringTest(`${store}: resolves from the keychain alone when there is no env key and no key file`, async (t) => {
    await run(['identity', 'forget', '--all']);
    const k = await key();
    await run(['identity', 'import'], { input: k.line });
    const { identities, attempts } = await resolveIdentities({ env: { HOME: home }, keychain: inProcess(store), cache: true });
    t.deepEqual(identities, [{ line: k.line, recipient: k.recipient, source: 'keychain', origin: 'keychain' }]);
    t.deepEqual(attempts[0], { source: 'keychain', outcome: 'found 1 identity' });
  });

  keyringTest(`${store}: caches an identity from SOPS_AGE_KEY and a key file into the keychain, and finds it there next time`, async (t) => {
    await run(['identity', 'forget', '--all']);
    const [fromEnv, fromFile] = await Promise.all([key(), key()]);
    const keyFile = path.join(home, '.config', 'sops', 'age', 'keys.txt');
    await mkdir(path.dirname(keyFile), { recursive: true });
    await writeFile(keyFile, `${fromFile.line}\n`, { mode: 0o600 });
    t.teardown(() => rm(path.join(home, '.config'), { recursive: true, force: true }));

    const notices: string[] = [];
    const env = { HOME: home, SOPS_AGE_KEY: fromEnv.line };
    const first = await resolveIdentities({ env, keychain: inProcess(store), cache: true, onNotice: (m) => notices.push(m) });
    t.deepEqual(
      first.identities.map((i) => i.source),
      ['env', 'file'],
    );
    t.deepEqual(await stored(), [fromEnv.recipient, fromFile.recipient].sort());
    t.is(notices.length, 2);
    t.true(notices[1]?.includes(keyFile));

    const second = await resolveIdentities({ env: { HOME: path.join(home, 'nowhere') }, keychain: inProcess(store), cache: true, onNotice: (m) => notices.push(m) });
    t.deepEqual(
      second.identities.map((i) => [i.recipient, i.source]).sort(),
      [
        [fromEnv.recipient, 'keychain'],
        [fromFile.recipient, 'keychain'],
      ].sort(),
    );
    t.is(notices.length, 2);
  });
}

registerFor.keytar('an identity stored by keytar is reported by show and doctor under the default backend, and copy moves it over verified, keeping the original', async (t) => {
  await cli(['identity', 'forget', '--all'], { store: 'keytar' });
  await cli(['identity', 'forget', '--all'], { store: 'napi-keyring' });
  const k = await key();
  t.is((await cli(['identity', 'import'], { input: k.line, store: 'keytar' })).exitCode, 0);
  t.deepEqual(await inProcess('napi-keyring').listRecipients(), [], 'the default backend cannot see keytar items');

  const shown = await cli(['identity', 'show', '--json']);
  t.is(shown.exitCode, 0, shown.stderr);
  const report = JSON.parse(shown.stdout) as { keychain: string; otherBackend: { store: string; onlyThere: string[] } };
  t.is(report.keychain, 'napi-keyring');
  t.deepEqual(report.otherBackend, { store: 'keytar', onlyThere: [k.recipient], unreadable: null });
  const human = await cli(['identity', 'show']);
  t.regex(human.stderr, /stored by the keytar backend .*`mcp-secrets identity copy --from keytar`/);
  const doctor = await cli(['doctor', '--json']);
  const check = (JSON.parse(doctor.stdout) as { checks: { id: string; level: string; message: string; fix?: string }[] }).checks.find((c) => c.id === 'keychain');
  t.is(check?.level, 'warn');
  t.regex(check?.fix ?? '', /mcp-secrets identity copy --from keytar/);

  const copied = await cli(['identity', 'copy', '--from', 'keytar']);
  t.is(copied.exitCode, 0, copied.stderr);
  t.regex(copied.stdout, new RegExp(`copied ${k.recipient} from keytar to napi-keyring \\(read back and verified\\)`));
  t.is(await inProcess('napi-keyring').get(k.recipient), k.line);
  t.is(await inProcess('keytar').get(k.recipient), k.line, 'the original stays');
  const again = await cli(['identity', 'copy', '--from', 'keytar']);
  t.regex(again.stdout, /is already in napi-keyring/);
  t.is(JSON.parse((await cli(['identity', 'show', '--json'])).stdout).otherBackend.onlyThere.length, 0);
  for (const r of [shown, human, doctor, copied, again]) t.false(`${r.stdout}${r.stderr}`.includes(k.line));
  await cli(['identity', 'forget', '--all'], { store: 'keytar' });
  await cli(['identity', 'forget', '--all'], { store: 'napi-keyring' });
});
