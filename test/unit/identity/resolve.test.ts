import test from 'ava';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { MemoryKeychain } from '../../../src/identity/keychain/memory.js';
import { defaultKeyFilePath, describeAttempts, noIdentityError, resolveIdentities } from '../../../src/identity/resolve.js';

async function key(): Promise<{ line: string; recipient: string }> {
  const line = await generateX25519Identity();
  return { line, recipient: await identityToRecipient(line) };
}

/** A temp HOME with nothing in it; removed after the test. */
async function tempHome(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcp-identity-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function writeKeyFile(file: string, lines: string[]): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `# created: now\n${lines.join('\n')}\n`, { mode: 0o600 });
}

test('looks in the keychain, SOPS_AGE_KEY, SOPS_AGE_KEY_FILE and the default file, in that order', async (t) => {
  const home = await tempHome(t);
  const [a, b, c, d] = await Promise.all([key(), key(), key(), key()]);
  const keychain = new MemoryKeychain({ [a.recipient]: a.line });
  const keyFile = path.join(home, 'team.txt');
  await writeKeyFile(keyFile, [c.line]);
  await writeKeyFile(path.join(home, '.config/sops/age/keys.txt'), [d.line]);
  const env = { HOME: home, SOPS_AGE_KEY: b.line, SOPS_AGE_KEY_FILE: keyFile };
  const { identities, attempts } = await resolveIdentities({ env, keychain, cache: false });
  t.deepEqual(
    identities.map((i) => [i.recipient, i.source]),
    [
      [a.recipient, 'keychain'],
      [b.recipient, 'env'],
      [c.recipient, 'file'],
      [d.recipient, 'file'],
    ],
  );
  t.deepEqual(attempts, [
    { source: 'keychain', outcome: 'found 1 identity' },
    { source: 'SOPS_AGE_KEY', outcome: 'found 1 identity' },
    { source: `$SOPS_AGE_KEY_FILE=${keyFile}`, outcome: 'found 1 identity' },
    { source: path.join(home, '.config/sops/age/keys.txt'), outcome: 'found 1 identity' },
  ]);
});

test('finds the keychain identity alone when no env key and no file exist', async (t) => {
  const home = await tempHome(t);
  const a = await key();
  const { identities, attempts } = await resolveIdentities({ env: { HOME: home }, keychain: new MemoryKeychain({ [a.recipient]: a.line }), cache: true });
  t.deepEqual(identities, [{ line: a.line, recipient: a.recipient, source: 'keychain', origin: 'keychain' }]);
  t.deepEqual(
    attempts.map((x) => x.outcome),
    ['found 1 identity', 'not set', 'not set', 'no such file'],
  );
});

test('reads several newline-separated keys from SOPS_AGE_KEY and keeps a repeated one once', async (t) => {
  const home = await tempHome(t);
  const [a, b] = await Promise.all([key(), key()]);
  const keychain = new MemoryKeychain({ [a.recipient]: a.line });
  const { identities, attempts } = await resolveIdentities({ env: { HOME: home, SOPS_AGE_KEY: `${a.line}\n${b.line}` }, keychain, cache: false });
  t.deepEqual(
    identities.map((i) => i.source),
    ['keychain', 'env'],
  );
  t.is(attempts[1]?.outcome, 'found 2 identities (1 already found above)');
});

test('honours XDG_CONFIG_HOME for the default key file', async (t) => {
  t.is(defaultKeyFilePath({ HOME: '/h', XDG_CONFIG_HOME: '/x' }), '/x/sops/age/keys.txt');
  t.is(defaultKeyFilePath({ HOME: '/h' }), '/h/.config/sops/age/keys.txt');
  t.is(defaultKeyFilePath({ HOME: '/h', XDG_CONFIG_HOME: 'relative' }), '/h/.config/sops/age/keys.txt');
});

test('puts the default key file where sops looks on Linux: ~/.config, or XDG_CONFIG_HOME when set', (t) => {
  t.is(defaultKeyFilePath({ HOME: '/home/ann' }, 'linux'), '/home/ann/.config/sops/age/keys.txt');
  t.is(defaultKeyFilePath({ HOME: '/home/ann', XDG_CONFIG_HOME: '/cfg' }, 'linux'), '/cfg/sops/age/keys.txt');
  t.is(defaultKeyFilePath({ HOME: '/home/ann' }, 'freebsd'), '/home/ann/.config/sops/age/keys.txt');
});

test('puts the default key file where sops looks on macOS: ~/Library/Application Support, or XDG_CONFIG_HOME when set', (t) => {
  t.is(defaultKeyFilePath({ HOME: '/Users/ann' }, 'darwin'), '/Users/ann/Library/Application Support/sops/age/keys.txt');
  t.is(defaultKeyFilePath({ HOME: '/Users/ann', XDG_CONFIG_HOME: '/Users/ann/.config' }, 'darwin'), '/Users/ann/.config/sops/age/keys.txt');
});

test('puts the default key file where sops looks on Windows: %AppData%, or XDG_CONFIG_HOME when set', (t) => {
  t.is(defaultKeyFilePath({ APPDATA: 'C:\\Users\\ann\\AppData\\Roaming' }, 'win32'), 'C:\\Users\\ann\\AppData\\Roaming\\sops\\age\\keys.txt');
  t.is(defaultKeyFilePath({ USERPROFILE: 'C:\\Users\\ann' }, 'win32'), 'C:\\Users\\ann\\AppData\\Roaming\\sops\\age\\keys.txt');
  t.is(defaultKeyFilePath({ APPDATA: 'C:\\AppData', XDG_CONFIG_HOME: 'D:\\cfg' }, 'win32'), 'D:\\cfg\\sops\\age\\keys.txt');
});

test('still tries env and files when the keychain fails, and records why it failed', async (t) => {
  const home = await tempHome(t);
  const b = await key();
  const keychain = new MemoryKeychain();
  keychain.failWith('locked');
  const { identities, attempts } = await resolveIdentities({ env: { HOME: home, SOPS_AGE_KEY: b.line }, keychain, cache: true });
  t.deepEqual(
    identities.map((i) => i.recipient),
    [b.recipient],
  );
  t.deepEqual(attempts[0], { source: 'keychain', outcome: 'E_KEYCHAIN: locked collection' });
  t.is(keychain.snapshot().size, 0);
});

test('records a disabled keychain', async (t) => {
  const home = await tempHome(t);
  const { attempts } = await resolveIdentities({ env: { HOME: home }, keychain: null, cache: true });
  t.deepEqual(attempts[0], { source: 'keychain', outcome: 'disabled (MCP_SECRETS_KEYCHAIN=none)' });
});

test('records a bad key file by line number and goes on to the next source', async (t) => {
  const home = await tempHome(t);
  const good = await key();
  const keyFile = path.join(home, 'bad.txt');
  await writeFile(keyFile, '# c\nAGE-SECRET-KEY-1NOTAKEY\n');
  await writeKeyFile(path.join(home, '.config/sops/age/keys.txt'), [good.line]);
  const { identities, attempts } = await resolveIdentities({ env: { HOME: home, SOPS_AGE_KEY_FILE: keyFile }, keychain: null, cache: false });
  t.is(identities.length, 1);
  t.regex(attempts[2]?.outcome ?? '', /^E_PARSE: .*line 2 of .*bad\.txt/);
  t.false(JSON.stringify(attempts).includes('NOTAKEY'));
});

test('caches identities found in env and files into the keychain and says so once per source', async (t) => {
  const home = await tempHome(t);
  const [b, c1, c2] = await Promise.all([key(), key(), key()]);
  const keyFile = path.join(home, '.config/sops/age/keys.txt');
  await writeKeyFile(keyFile, [c1.line, c2.line]);
  const keychain = new MemoryKeychain();
  const notices: string[] = [];
  const env = { HOME: home, SOPS_AGE_KEY: b.line };
  await resolveIdentities({ env, keychain, cache: true, onNotice: (m) => notices.push(m) });
  t.deepEqual(
    [...keychain.snapshot().keys()].sort(),
    [b.recipient, c1.recipient, c2.recipient].sort(),
  );
  t.deepEqual(notices, [
    'the identity from SOPS_AGE_KEY is now in the OS keychain; you can unset SOPS_AGE_KEY',
    `the 2 identities from ${keyFile} are now in the OS keychain; you can delete the plaintext file`,
  ]);
  for (const notice of notices) for (const k of [b, c1, c2]) t.false(notice.includes(k.line));

  // A second run finds them in the keychain: nothing new to cache, nothing more to say.
  const again = await resolveIdentities({ env, keychain, cache: true, onNotice: (m) => notices.push(m) });
  t.is(notices.length, 2);
  t.true(again.identities.every((i) => i.source === 'keychain'));
});

test('leaves the keychain alone when caching is off', async (t) => {
  const home = await tempHome(t);
  const b = await key();
  const keychain = new MemoryKeychain();
  const notices: string[] = [];
  await resolveIdentities({ env: { HOME: home, SOPS_AGE_KEY: b.line }, keychain, cache: false, onNotice: (m) => notices.push(m) });
  t.is(keychain.snapshot().size, 0);
  t.deepEqual(notices, []);
});

test('records a failed cache write as an attempt, without throwing', async (t) => {
  const home = await tempHome(t);
  const b = await key();
  const keychain = new MemoryKeychain();
  keychain.failWith('locked', ['set']);
  const notices: string[] = [];
  const { identities, attempts } = await resolveIdentities({ env: { HOME: home, SOPS_AGE_KEY: b.line }, keychain, cache: true, onNotice: (m) => notices.push(m) });
  t.is(identities.length, 1);
  t.deepEqual(attempts.at(-1), { source: 'keychain (caching)', outcome: 'E_KEYCHAIN: locked collection; not cached' });
  t.deepEqual(notices, []);
});

test('skips a keychain item that is not a valid key and says which', async (t) => {
  const home = await tempHome(t);
  const { identities, attempts } = await resolveIdentities({ env: { HOME: home }, keychain: new MemoryKeychain({ age1broken: 'AGE-SECRET-KEY-1BROKEN' }), cache: false });
  t.deepEqual(identities, []);
  t.is(attempts[0]?.outcome, 'age1broken: stored item is not a valid age secret key');
  t.false(JSON.stringify(attempts).includes('BROKEN'));
});

test('builds E_NO_IDENTITY listing every attempt, with the keychain hint first', (t) => {
  const attempts = [
    { source: 'keychain', outcome: 'E_KEYCHAIN: locked collection' },
    { source: 'SOPS_AGE_KEY', outcome: 'not set' },
  ];
  t.is(describeAttempts(attempts), '  keychain: E_KEYCHAIN: locked collection\n  SOPS_AGE_KEY: not set');
  const error = noIdentityError(attempts, ['age1team'], [], { bundle: 'config/secrets.enc.yaml' });
  t.is(error.code, 'E_NO_IDENTITY');
  t.regex(error.message, /^no age identity found to open config\/secrets\.enc\.yaml; tried:\n {2}keychain: E_KEYCHAIN: locked collection\n/);
  t.regex(error.hint ?? '', /^the keyring is locked.*mcp-secrets identity import/);
});

test('builds E_IDENTITY_MISMATCH naming both sides when identities were found but none fits', (t) => {
  const error = noIdentityError([{ source: 'keychain', outcome: 'found 1 identity' }], ['age1team'], ['age1mine']);
  t.is(error.code, 'E_IDENTITY_MISMATCH');
  t.regex(error.message, /encrypted to age1team; you have age1mine/);
  t.regex(error.hint ?? '', /sops updatekeys/);
});
