/**
 * Each way the OS keychain fails on Linux, produced for real, gives E_KEYCHAIN with its own hint
 * (through the built CLI, so each backend's real messages are what gets translated): every case
 * runs with the default backend (@napi-rs/keyring) and with keytar.
 *
 * How each state is made: no D-Bus = no DBUS_SESSION_BUS_ADDRESS and no DISPLAY; stale bus = an
 * address whose socket does not exist; no Secret Service = a private bus with no service
 * directories; no login collection = gnome-keyring started without --unlock; locked = unlocked
 * at start, then `org.freedesktop.Secret.Service.Lock` on the login collection over D-Bus.
 * keytar crashed (SIGSEGV) listing a locked collection; @napi-rs/keyring answers with an error.
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { execa } from 'execa';
import type { ExecutionContext } from 'ava';
import type { KeychainStore } from '../../../src/identity/keychain/index.js';
import { keyringTests, keytarTests, startKeyringSession } from '../../helpers/keyring.js';

const MAIN = fileURLToPath(new URL('../../../src/main.js', import.meta.url));
type Register = (title: string, fn: (t: ExecutionContext) => Promise<void>) => void;
const registerFor: Record<KeychainStore, Register> = { 'napi-keyring': await keyringTests(), keytar: await keytarTests() };

let home = '';
test.before(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'mcp-identity-fail-'));
});
test.after.always(async () => {
  if (home) await rm(home, { recursive: true, force: true });
});

function cli(store: KeychainStore, args: string[], env: Record<string, string>, input = '') {
  return execa('node', [MAIN, ...args], {
    cwd: home,
    env: { PATH: process.env.PATH ?? '', HOME: home, MCP_SECRETS_KEYCHAIN: store, ...env },
    extendEnv: false,
    reject: false,
    input,
  });
}

async function key(): Promise<{ line: string; recipient: string }> {
  const line = await generateX25519Identity();
  return { line, recipient: await identityToRecipient(line) };
}

/** Runs `identity import` of a fresh key and checks it failed with this cause, leaking nothing. */
async function importFails(t: ExecutionContext, store: KeychainStore, env: Record<string, string>, label: string, hint: RegExp): Promise<void> {
  const k = await key();
  const result = await cli(store, ['identity', 'import'], env, k.line);
  t.is(result.exitCode, 2, result.stderr);
  t.regex(result.stderr, new RegExp(`E_KEYCHAIN: cannot store ${k.recipient} in the OS keychain \\(${store}\\): ${label}`));
  t.regex(result.stderr, hint);
  t.false(`${result.stdout}${result.stderr}`.includes(k.line));
  t.false(`${result.stdout}${result.stderr}`.includes(k.line.slice(15, 40)));
}

for (const store of ['napi-keyring', 'keytar'] as const) {
  const keyringTest = registerFor[store];

  keyringTest(`${store}: says there is no D-Bus session when DBUS_SESSION_BUS_ADDRESS and DISPLAY are unset`, async (t) => {
    await importFails(t, store, {}, 'no D-Bus session', /hint: DBUS_SESSION_BUS_ADDRESS is not set/);
    const show = await cli(store, ['identity', 'show', '--json'], {});
    t.is(show.exitCode, 2);
    t.is(JSON.parse(show.stdout).error.code, 'E_KEYCHAIN');
  });

  keyringTest(`${store}: says the bus is stale when its socket is gone`, async (t) => {
    await importFails(t, store, { DBUS_SESSION_BUS_ADDRESS: `unix:path=${path.join(home, 'gone', 'bus')}` }, 'stale D-Bus address', /no longer exists/);
  });

  keyringTest(`${store}: says there is no Secret Service on a bus without one`, async (t) => {
    const session = await startKeyringSession('no-secret-service');
    t.teardown(() => session.stop());
    await importFails(t, store, session.env, 'no Secret Service', /gnome-keyring-daemon --start/);
    const show = await cli(store, ['identity', 'show'], session.env);
    t.regex(show.stderr, new RegExp(`cannot list identities in the OS keychain \\(${store}\\): no Secret Service`));
  });

  keyringTest(`${store}: says there is no login collection when the keyring was never unlocked`, async (t) => {
    const session = await startKeyringSession('no-login');
    t.teardown(() => session.stop());
    await importFails(t, store, session.env, 'no login collection', /gnome-keyring-daemon --unlock/);
  });

  keyringTest(`${store}: says the collection is locked, for writes and reads, without crashing on the listing`, async (t) => {
    const session = await startKeyringSession('unlocked');
    t.teardown(() => session.stop());
    const k = await key();
    t.is((await cli(store, ['identity', 'import'], session.env, k.line)).exitCode, 0);
    await session.lock();

    await importFails(t, store, session.env, 'locked collection', /hint: the keyring is locked/);
    // keytar's findCredentials would crash (SIGSEGV) here: its lock check must answer first
    const show = await cli(store, ['identity', 'show'], session.env);
    t.is(show.exitCode, 2, `signal: ${show.signal ?? 'none'}`);
    t.regex(show.stderr, new RegExp(`cannot list identities in the OS keychain \\(${store}\\): locked collection`));
    const sopsKey = await cli(store, ['identity', 'sops-key'], session.env);
    t.is(sopsKey.exitCode, 2);
    t.is(sopsKey.stdout, '');
    const forget = await cli(store, ['identity', 'forget', k.recipient], session.env);
    t.regex(forget.stderr, /cannot remove .* locked collection/);
  });
}
