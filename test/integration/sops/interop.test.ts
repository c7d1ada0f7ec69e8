import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { decryptSops } from 'sops-age';
import { parse as parseYaml } from 'yaml';
import { AppError } from '../../../src/errors.js';
import { decrypt, encrypt, inspect, updateRecipients, type TreeMap, type TreeValue } from '../../../src/sops/index.js';
import { canonical } from '../../helpers/order.js';

async function newKey(): Promise<{ identity: string; recipient: string }> {
  const identity = await generateIdentity();
  return { identity, recipient: await identityToRecipient(identity) };
}

const DOC = new Map<string, TreeValue>([
  ['openai', new Map<string, TreeValue>([['api_key', 'sk-test-123'], ['org', 'org-9']])],
  ['MCP_SECRETS_VERSION', '2026.11.3'],
  ['port', 8080],
  ['ratio', 0.25],
  ['enabled', true],
  ['multi', 'line one\nline two\n'],
  ['10', 'integer-like key'],
  ['2', 'comes after 10'],
  ['list', ['a', 'b']],
  ['empty', ''],
  ['nothing', null],
  ['note_unencrypted', 'in clear'],
]);

function hasAge(): boolean {
  try {
    execFileSync('age', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function plainJs(v: TreeValue): unknown {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, plainJs(x)]));
  if (Array.isArray(v)) return v.map(plainJs);
  return v;
}

/** sops-age 4.0.2 fails (GCM error) on values under integer-like keys such as "2", whoever encrypted them; they are left out here. */
const DOC_FOR_SOPS_AGE = new Map([...DOC].filter(([k]) => !/^\d+$/.test(k)));

for (const format of ['yaml', 'json'] as const) {
  test(`our ${format} output decrypts with the independent sops-age package to the same values`, async (t) => {
    const { identity, recipient } = await newKey();
    const bytes = await encrypt(DOC_FOR_SOPS_AGE, { format, recipients: [recipient] });
    const theirs = (await decryptSops(Buffer.from(bytes).toString('utf8'), { secretKey: identity, fileType: format })) as Record<string, unknown>;
    t.deepEqual(theirs, plainJs(DOC_FOR_SOPS_AGE));
    t.deepEqual(canonical(await decrypt(bytes, { format, identities: [identity] })), canonical(DOC_FOR_SOPS_AGE));
  });
}

test('our dotenv output decrypts with the independent sops-age package', async (t) => {
  const { identity, recipient } = await newKey();
  const doc = new Map<string, TreeValue>([['OPENAI_API_KEY', 'sk-test-123'], ['MULTI', 'a\nb'], ['EMPTY', ''], ['URL', 'https://x.example/?a=b#c']]);
  const bytes = await encrypt(doc, { format: 'dotenv', recipients: [recipient] });
  const theirs = await decryptSops(Buffer.from(bytes).toString('utf8'), { secretKey: identity, fileType: 'env' });
  t.deepEqual(theirs, plainJs(doc));
});

test('the wrapped data key opens with the real age binary', async (t) => {
  if (!hasAge()) {
    if (process.env['CI'] === 'true') t.fail('the age binary is not installed');
    else t.log('age binary not installed: skipped');
    return;
  }
  const { identity, recipient } = await newKey();
  const bytes = await encrypt(DOC, { format: 'yaml', recipients: [recipient] });
  const meta = parseYaml(Buffer.from(bytes).toString('utf8')) as { sops: { age: Array<{ recipient: string; enc: string }> } };
  const dir = mkdtempSync(join(tmpdir(), 'mcp-secrets-age-'));
  try {
    const keyFile = join(dir, 'key.txt');
    writeFileSync(keyFile, `${identity}\n`, { mode: 0o600 });
    const dataKey = execFileSync('age', ['-d', '-i', keyFile], { input: meta.sops.age[0]?.enc });
    t.is(dataKey.length, 32);
    t.is(meta.sops.age[0]?.recipient, recipient);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writes the compact metadata layout of current sops', async (t) => {
  const { recipient } = await newKey();
  const text = Buffer.from(await encrypt(DOC, { format: 'yaml', recipients: [recipient], now: new Date('2026-01-02T03:04:05.678Z') })).toString('utf8');
  const sops = (parseYaml(text) as { sops: Record<string, unknown> }).sops;
  t.deepEqual(Object.keys(sops), ['age', 'lastmodified', 'mac', 'unencrypted_suffix', 'version']);
  t.is(sops['lastmodified'], '2026-01-02T03:04:05Z');
  t.true(text.includes('lastmodified: "2026-01-02T03:04:05Z"'));
  t.true(text.includes('note_unencrypted: in clear'));
});

async function values(bytes: Uint8Array, identity: string, format: 'yaml' | 'json' | 'dotenv' | 'ini' = 'yaml'): Promise<TreeMap> {
  return decrypt(bytes, { format, identities: [identity] });
}

function encValues(bytes: Uint8Array): string[] {
  return [...Buffer.from(bytes).toString('utf8').matchAll(/ENC\[AES256_GCM,[^\]]+\]/g)].map((m) => m[0]);
}

test('updateRecipients re-wraps the data key: the removed identity is locked out, the new one opens, values unchanged', async (t) => {
  const oldKey = await newKey();
  const newOne = await newKey();
  const original = await encrypt(DOC, { format: 'yaml', recipients: [oldKey.recipient] });
  const updated = await updateRecipients(original, { format: 'yaml', identities: [oldKey.identity], recipients: [newOne.recipient] });
  t.deepEqual(canonical(await values(updated, newOne.identity)), canonical(DOC));
  const error = await t.throwsAsync(values(updated, oldKey.identity));
  t.is((error as AppError).code, 'E_NO_IDENTITY');
  t.deepEqual(encValues(updated).slice(0, -1), encValues(original).slice(0, -1), 'values and MAC ciphertexts are untouched');
  t.deepEqual(inspect(updated, { format: 'yaml' }).ageRecipients, [newOne.recipient]);
});

test('updateRecipients keeps encrypted comments and works for JSON, dotenv and INI too', async (t) => {
  const a = await newKey();
  const b = await newKey();
  for (const format of ['json', 'dotenv', 'ini'] as const) {
    const doc = format === 'ini' ? new Map<string, TreeValue>([['s', new Map<string, TreeValue>([['k', 'v']])]]) : new Map<string, TreeValue>([['K', 'v']]);
    const original = await encrypt(doc, { format, recipients: [a.recipient] });
    const updated = await updateRecipients(original, { format, identities: [a.identity], recipients: [a.recipient, b.recipient] });
    t.deepEqual(canonical(await values(updated, b.identity, format)), canonical(doc));
    t.deepEqual(canonical(await values(updated, a.identity, format)), canonical(doc));
  }
});

test('rotating the data key changes every ciphertext and keeps every value', async (t) => {
  const a = await newKey();
  const b = await newKey();
  const original = await encrypt(DOC, { format: 'yaml', recipients: [a.recipient] });
  const rotated = await updateRecipients(original, { format: 'yaml', identities: [a.identity], recipients: [b.recipient], rotateDataKey: true, now: new Date('2027-01-01T00:00:00Z') });
  t.deepEqual(canonical(await values(rotated, b.identity)), canonical(DOC));
  const before = new Set(encValues(original));
  const after = encValues(rotated);
  t.is(after.length, encValues(original).length);
  for (const v of after) t.false(before.has(v));
  await t.throwsAsync(values(rotated, a.identity));
  t.is(inspect(rotated, { format: 'yaml' }).lastModified, '2027-01-01T00:00:00Z');
});

test('keeps the mac_only_encrypted and encrypted_regex choices through encrypt and rotation', async (t) => {
  const a = await newKey();
  const doc = new Map<string, TreeValue>([['kind', 'Secret'], ['data', new Map<string, TreeValue>([['password', 'p4ss']])]]);
  const bytes = await encrypt(doc, { format: 'yaml', recipients: [a.recipient], encryptedRegex: '^data$', macOnlyEncrypted: true });
  const text = Buffer.from(bytes).toString('utf8');
  t.true(text.includes('kind: Secret'));
  const edited = text.replace('kind: Secret', 'kind: Other');
  // with mac_only_encrypted, cleartext values are outside the MAC (as in sops)
  t.is((await values(Buffer.from(edited), a.identity)).get('kind'), 'Other');
  const rotated = await updateRecipients(bytes, { format: 'yaml', identities: [a.identity], recipients: [a.recipient], rotateDataKey: true });
  const summary = inspect(rotated, { format: 'yaml' });
  t.true(summary.macOnlyEncrypted);
  t.is(summary.encryptedRegex, '^data$');
  t.deepEqual(canonical(await values(rotated, a.identity)), canonical(doc));
});
