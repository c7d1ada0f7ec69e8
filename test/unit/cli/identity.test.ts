import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { runIdentity, type IdentityDeps } from '../../../src/cli/identity.js';
import type { CommandInput } from '../../../src/cli/types.js';
import { AppError } from '../../../src/errors.js';
import { MemoryKeychain } from '../../../src/identity/keychain/memory.js';
import { keychainFailureCause } from '../../../src/identity/keychain/errors.js';

interface Harness {
  deps: IdentityDeps;
  keychain: MemoryKeychain;
  out: string[];
  err: string[];
}

function harness(options: { stdin?: string; env?: Record<string, string>; tty?: boolean; bundle?: string[] | null; config?: string[] | null; keychain?: MemoryKeychain | null; cwd?: string } = {}): Harness {
  const keychain = options.keychain ?? new MemoryKeychain();
  const out: string[] = [];
  const err: string[] = [];
  const deps: IdentityDeps = {
    io: {
      stdout: (s) => out.push(typeof s === 'string' ? s : Buffer.from(s).toString('utf8')),
      stderr: (s) => err.push(s),
      env: options.env ?? {},
      cwd: options.cwd ?? '/',
      stdin: Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]),
      stdoutIsTTY: options.tty ?? false,
    },
    keychain: () => (options.keychain === null ? null : keychain),
    bundleRecipients: async () => (options.bundle === undefined ? null : options.bundle),
    sopsConfigRecipients: async () => (options.config === undefined ? null : options.config),
    bundleLabel: 'config/secrets.enc.yaml',
  };
  return { deps, keychain, out, err };
}

function input(positionals: string[], values: CommandInput['values'] = {}): CommandInput {
  return { positionals, values };
}

async function key(): Promise<{ line: string; recipient: string }> {
  const line = await generateX25519Identity();
  return { line, recipient: await identityToRecipient(line) };
}

function assertNoSecret(t: { false(v: boolean, m?: string): void }, h: Harness, secret: string): void {
  t.false(h.out.join('').includes(secret), 'secret on stdout');
  t.false(h.err.join('').includes(secret), 'secret on stderr');
}

test('imports a key file from stdin and prints only its recipient', async (t) => {
  const k = await key();
  const h = harness({ stdin: `# created: now\r\n# public key: ${k.recipient}\r\n${k.line}\r\n`, bundle: [k.recipient] });
  t.is(await runIdentity(input(['import']), h.deps), 0);
  t.deepEqual([...h.keychain.snapshot()], [[k.recipient, k.line]]);
  t.deepEqual(h.out, [`stored ${k.recipient} in the OS keychain (memory)\n`]);
  t.deepEqual(h.err, []);
  assertNoSecret(t, h, k.line);
});

test('imports several keys from a file with --file and reports them as JSON', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcp-identity-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const [a, b] = await Promise.all([key(), key()]);
  await writeFile(path.join(dir, 'keys.txt'), `${a.line}\n${b.line}`);
  const h = harness({ cwd: dir });
  t.is(await runIdentity(input(['import'], { file: 'keys.txt', json: true }), h.deps), 0);
  t.deepEqual(JSON.parse(h.out.join('')), { stored: [a.recipient, b.recipient], keychain: 'memory' });
  assertNoSecret(t, h, a.line);
});

test('imports SOPS_AGE_KEY with --from-env', async (t) => {
  const k = await key();
  const h = harness({ env: { SOPS_AGE_KEY: k.line } });
  t.is(await runIdentity(input(['import'], { 'from-env': true }), h.deps), 0);
  t.is(h.keychain.snapshot().get(k.recipient), k.line);
});

test('refuses --from-env when SOPS_AGE_KEY is not set, and --file with --from-env', async (t) => {
  const h = harness();
  t.is((await t.throwsAsync<AppError>(runIdentity(input(['import'], { 'from-env': true }), h.deps)))?.code, 'E_USAGE');
  t.is((await t.throwsAsync<AppError>(runIdentity(input(['import'], { 'from-env': true, file: 'x' }), h.deps)))?.code, 'E_USAGE');
});

test('rejects input with a bad key by line number, stores nothing and echoes nothing', async (t) => {
  const [a, b] = await Promise.all([key(), key()]);
  const bad = b.line.slice(0, -1) + (b.line.endsWith('Q') ? 'P' : 'Q');
  const h = harness({ stdin: `${a.line}\n${bad}\n` });
  const error = await t.throwsAsync<AppError>(runIdentity(input(['import']), h.deps));
  t.is(error?.code, 'E_PARSE');
  t.regex(error?.message ?? '', /line 2 of stdin/);
  t.false(`${error?.message}${error?.hint}`.includes(bad.slice(15)));
  t.is(h.keychain.snapshot().size, 0);
  assertNoSecret(t, h, a.line);
});

test('refuses empty input', async (t) => {
  const h = harness({ stdin: '# nothing\n' });
  t.is((await t.throwsAsync<AppError>(runIdentity(input(['import']), h.deps)))?.code, 'E_USAGE');
});

test('warns when the imported recipient is neither in .sops.yaml nor in the bundle, and still stores it', async (t) => {
  const [mine, team] = await Promise.all([key(), key()]);
  const h = harness({ stdin: mine.line, config: [team.recipient], bundle: [team.recipient] });
  t.is(await runIdentity(input(['import']), h.deps), 0);
  t.regex(h.err.join(''), new RegExp(`warning: ${mine.recipient} is not a recipient in \\.sops\\.yaml or config/secrets\\.enc\\.yaml`));
  t.is(h.keychain.snapshot().size, 1);
});

test('does not warn when .sops.yaml lists the recipient even if the bundle is not re-encrypted yet', async (t) => {
  const [mine, team] = await Promise.all([key(), key()]);
  const h = harness({ stdin: mine.line, config: [team.recipient, mine.recipient], bundle: [team.recipient] });
  await runIdentity(input(['import']), h.deps);
  t.deepEqual(h.err, []);
});

test('reports a keychain failure during import as E_KEYCHAIN with its hint', async (t) => {
  const k = await key();
  const keychain = new MemoryKeychain();
  keychain.failWith('no-dbus');
  const h = harness({ stdin: k.line, keychain });
  const error = await t.throwsAsync<AppError>(runIdentity(input(['import']), h.deps));
  t.is(keychainFailureCause(error), 'no-dbus');
  t.regex(error?.hint ?? '', /DBUS_SESSION_BUS_ADDRESS/);
  t.false(`${error?.message}${error?.hint}`.includes(k.line));
});

test('refuses every subcommand when the keychain is disabled', async (t) => {
  for (const args of [['import'], ['show'], ['forget'], ['sops-key']]) {
    const h = harness({ stdin: '', keychain: null });
    const values = args[0] === 'forget' ? { all: true } : {};
    const error = await t.throwsAsync<AppError>(runIdentity(input(args, values), h.deps));
    t.is(keychainFailureCause(error), 'disabled', args[0]);
  }
});

test('shows stored recipients and marks which open the bundle', async (t) => {
  const [a, b] = await Promise.all([key(), key()]);
  const h = harness({ keychain: new MemoryKeychain({ [a.recipient]: a.line, [b.recipient]: b.line }), bundle: [b.recipient] });
  t.is(await runIdentity(input(['show']), h.deps), 0);
  const text = h.out.join('');
  t.true(text.includes(`${b.recipient}  opens config/secrets.enc.yaml`));
  t.true(text.includes(`${a.recipient}  opens nothing yet: not a recipient in .sops.yaml or config/secrets.enc.yaml`));
  assertNoSecret(t, h, a.line);
  assertNoSecret(t, h, b.line);
});

test('shows as JSON, with null when the bundle cannot be read', async (t) => {
  const a = await key();
  const h = harness({ keychain: new MemoryKeychain({ [a.recipient]: a.line }) });
  await runIdentity(input(['show'], { json: true }), h.deps);
  t.deepEqual(JSON.parse(h.out.join('')), {
    keychain: 'memory',
    otherBackend: null,
    service: 'mcp-secrets',
    bundle: null,
    identities: [{ recipient: a.recipient, opensBundle: null, inSopsConfig: null, opensNothingYet: null }],
  });
});

test('says how to import when nothing is stored', async (t) => {
  const h = harness();
  await runIdentity(input(['show']), h.deps);
  t.regex(h.out.join(''), /mcp-secrets identity import/);
});

test('forgets one recipient, or all of them', async (t) => {
  const [a, b, c] = await Promise.all([key(), key(), key()]);
  const h = harness({ keychain: new MemoryKeychain({ [a.recipient]: a.line, [b.recipient]: b.line, [c.recipient]: c.line }) });
  await runIdentity(input(['forget', a.recipient]), h.deps);
  t.deepEqual([...h.keychain.snapshot().keys()].sort(), [b.recipient, c.recipient].sort());
  await runIdentity(input(['forget'], { all: true }), h.deps);
  t.is(h.keychain.snapshot().size, 0);
  t.regex(h.out.join(''), /removed age1/);
});

test('forget names a missing recipient, refuses a non-recipient without echoing a key, and needs one of RECIPIENT or --all', async (t) => {
  const k = await key();
  const h = harness();
  t.is((await t.throwsAsync<AppError>(runIdentity(input(['forget', k.recipient]), h.deps)))?.code, 'E_NO_IDENTITY');
  const pasted = await t.throwsAsync<AppError>(runIdentity(input(['forget', k.line]), h.deps));
  t.is(pasted?.code, 'E_USAGE');
  t.false(pasted?.message.includes(k.line.slice(15)));
  t.is((await t.throwsAsync<AppError>(runIdentity(input(['forget']), h.deps)))?.code, 'E_USAGE');
  t.is((await t.throwsAsync<AppError>(runIdentity(input(['forget', k.recipient], { all: true }), h.deps)))?.code, 'E_USAGE');
});

test('sops-key prints the stored identities into a pipe for SOPS_AGE_KEY_CMD', async (t) => {
  const [a, b] = await Promise.all([key(), key()]);
  const h = harness({ keychain: new MemoryKeychain({ [a.recipient]: a.line, [b.recipient]: b.line }) });
  t.is(await runIdentity(input(['sops-key']), h.deps), 0);
  t.deepEqual(h.out.join('').trimEnd().split('\n').sort(), [a.line, b.line].sort());
});

test('sops-key refuses a terminal unless --force', async (t) => {
  const a = await key();
  const h = harness({ tty: true, keychain: new MemoryKeychain({ [a.recipient]: a.line }) });
  const error = await t.throwsAsync<AppError>(runIdentity(input(['sops-key']), h.deps));
  t.is(error?.code, 'E_USAGE');
  t.deepEqual(h.out, []);
  t.is(await runIdentity(input(['sops-key'], { force: true }), h.deps), 0);
  t.true(h.out.join('').includes(a.line));
});

test('sops-key fails with E_NO_IDENTITY when nothing is stored', async (t) => {
  t.is((await t.throwsAsync<AppError>(runIdentity(input(['sops-key']), harness().deps)))?.code, 'E_NO_IDENTITY');
});

test('refuses an unknown or missing subcommand and extra arguments', async (t) => {
  for (const args of [[], ['export'], ['show', 'extra']]) {
    t.is((await t.throwsAsync<AppError>(runIdentity(input(args), harness().deps)))?.code, 'E_USAGE');
  }
});

test('a stored key that opens neither .sops.yaml nor the bundle is shown as opening nothing yet; one in .sops.yaml only says what is missing', async (t) => {
  const [a, b, c] = await Promise.all([key(), key(), key()]);
  const h = harness({ keychain: new MemoryKeychain({ [a.recipient]: a.line, [b.recipient]: b.line, [c.recipient]: c.line }), bundle: [c.recipient], config: [b.recipient, c.recipient] });
  t.is(await runIdentity(input(['show']), h.deps), 0);
  const text = h.out.join('');
  t.true(text.includes(`${a.recipient}  opens nothing yet: not a recipient in .sops.yaml or config/secrets.enc.yaml`), text);
  t.true(text.includes(`${b.recipient}  opens nothing yet: listed in .sops.yaml but not in config/secrets.enc.yaml`), text);
  t.true(text.includes(`${c.recipient}  opens config/secrets.enc.yaml`), text);
  const json = harness({ keychain: new MemoryKeychain({ [a.recipient]: a.line }), bundle: [c.recipient], config: [c.recipient] });
  await runIdentity(input(['show'], { json: true }), json.deps);
  t.deepEqual((JSON.parse(json.out.join('')) as { identities: unknown[] }).identities, [{ recipient: a.recipient, opensBundle: false, inSopsConfig: false, opensNothingYet: true }]);
});

test('account names planted in the keychain are shown with their control characters escaped', async (t) => {
  const planted = 'age1planted\u001b[31mRED\u0007\nINJECTED LINE';
  const h = harness({ keychain: new MemoryKeychain({ [planted]: 'not a key' }), bundle: [] });
  t.is(await runIdentity(input(['show']), h.deps), 0);
  const text = h.out.join('');
  t.false([...text].some((ch) => ch !== '\n' && ch.charCodeAt(0) < 0x20), JSON.stringify(text));
  t.true(text.includes('age1planted?[31mRED??INJECTED LINE'), JSON.stringify(text));
  t.is(text.split('\n').filter((l) => l.includes('INJECTED')).length, 1);
});
