import test from 'ava';
import { AppError } from '../../../src/errors.js';
import { fromPlain, type TreeMap } from '../../../src/sops/tree.js';
import { toEntries, secretsVersionOf, providerOf, nameOf, type Provider } from '../../../src/render/entries.js';

function doc(plain: unknown): TreeMap {
  return fromPlain(plain) as TreeMap;
}

function pairs(document: TreeMap): [string, string][] {
  return toEntries(document).map((e) => [e.name, e.value]);
}

test('names top-level scalars by their key and nested maps by the upper-cased path joined by _', (t) => {
  const entries = toEntries(doc({ DATABASE_URL: 'postgres://x', openai: { api_key: 'sk-1', org: { id: 'o-2' } } }));
  t.deepEqual(
    entries.map((e) => [e.name, e.value, e.path]),
    [
      ['DATABASE_URL', 'postgres://x', ['DATABASE_URL']],
      ['OPENAI_API_KEY', 'sk-1', ['openai', 'api_key']],
      ['OPENAI_ORG_ID', 'o-2', ['openai', 'org', 'id']],
    ],
  );
});

test('turns characters outside A-Z, 0-9 and _ into _', (t) => {
  t.is(nameOf(['my-service', 'api.key', 'région']), 'MY_SERVICE_API_KEY_R_GION');
  t.deepEqual(pairs(doc({ 'a b': { 'c-d': 'v' } })), [['A_B_C_D', 'v']]);
});

test('keeps bundle order, integer-like keys included', (t) => {
  const document: TreeMap = new Map<string, string | TreeMap>([
    ['10', 'ten'],
    ['2', 'two'],
    ['b', new Map([['20', 'x'], ['1', 'y']])],
    ['a', 'z'],
  ]);
  t.deepEqual(
    toEntries(document).map((e) => e.name),
    ['10', '2', 'B_20', 'B_1', 'A'],
  );
});

test('writes numbers and booleans as their text and null as empty', (t) => {
  t.deepEqual(pairs(doc({ PORT: 5432, RATIO: 0.25, BIG: 3.0, NEG: -7, TINY: 1e-7, ON: true, OFF: false, NOTHING: null })), [
    ['PORT', '5432'],
    ['RATIO', '0.25'],
    ['BIG', '3'],
    ['NEG', '-7'],
    ['TINY', '1e-7'],
    ['ON', 'true'],
    ['OFF', 'false'],
    ['NOTHING', ''],
  ]);
});

test('keeps strings exactly, including empty, spaces and newlines', (t) => {
  const values = ['', '  padded  ', 'line1\nline2', 'tab\there', '"quoted"', 'ünïcødé 🔑'];
  const document: TreeMap = new Map(values.map((v, i) => [`K${i}`, v]));
  t.deepEqual(
    toEntries(document).map((e) => e.value),
    values,
  );
});

test('turns valid UTF-8 bytes into text and keeps a byte-order mark', (t) => {
  const document: TreeMap = new Map([
    ['CERT', new TextEncoder().encode('-----BEGIN-----\nabc\n')],
    ['BOM', new Uint8Array([0xef, 0xbb, 0xbf, 0x61])],
  ]);
  t.deepEqual(pairs(document), [
    ['CERT', '-----BEGIN-----\nabc\n'],
    ['BOM', '\ufeffa'],
  ]);
});

test('refuses bytes that are not UTF-8, naming the key path and the file but not the value', (t) => {
  const document: TreeMap = new Map([['blob', new Map([['raw', new Uint8Array([0x73, 0x65, 0xff, 0xfe])]])]]);
  const error = t.throws(() => toEntries(document, { sourcePath: 'config/secrets.enc.yaml' }), { instanceOf: AppError });
  t.is(error?.code, 'E_UNSUPPORTED_VALUE');
  t.regex(error?.message ?? '', /blob\.raw/);
  t.regex(error?.message ?? '', /config\/secrets\.enc\.yaml/);
  t.truthy(error?.hint);
});

test('refuses a list with E_UNSUPPORTED_VALUE naming its path and not its items', (t) => {
  const error = t.throws(() => toEntries(doc({ ok: 'x', team: { members: ['alice-secret-token', 'bob'] } }), { sourcePath: 'b.yaml' }), {
    instanceOf: AppError,
  });
  t.is(error?.code, 'E_UNSUPPORTED_VALUE');
  t.regex(error?.message ?? '', /team\.members/);
  t.regex(error?.message ?? '', /b\.yaml/);
  t.false(JSON.stringify({ m: error?.message, h: error?.hint, d: error?.details }).includes('alice-secret-token'));
});

test('refuses numbers that are not finite', (t) => {
  const error = t.throws(() => toEntries(new Map([['X', Number.POSITIVE_INFINITY]])), { instanceOf: AppError });
  t.is(error?.code, 'E_UNSUPPORTED_VALUE');
});

test('refuses an empty top-level key', (t) => {
  const error = t.throws(() => toEntries(new Map([['', 'v']])), { instanceOf: AppError });
  t.is(error?.code, 'E_UNSUPPORTED_VALUE');
});

test('refuses two key paths giving one name, naming both paths and not the values', (t) => {
  const error = t.throws(
    () => toEntries(doc({ openai: { api_key: 'first-secret' }, OPENAI_API_KEY: 'second-secret' }), { sourcePath: 'config/secrets.enc.yaml' }),
    { instanceOf: AppError },
  );
  t.is(error?.code, 'E_DUPLICATE_NAME');
  t.regex(error?.message ?? '', /OPENAI_API_KEY/);
  t.regex(error?.message ?? '', /openai\.api_key/);
  t.regex(error?.message ?? '', /config\/secrets\.enc\.yaml/);
  const all = JSON.stringify({ m: error?.message, h: error?.hint, d: error?.details });
  t.false(all.includes('first-secret'));
  t.false(all.includes('second-secret'));
});

test('refuses names that collide only after replacing characters', (t) => {
  const error = t.throws(() => toEntries(doc({ 'a-b': '1', a_b: '2' })), { instanceOf: AppError });
  t.is(error?.code, 'E_DUPLICATE_NAME');
});

test('takes the provider from the first path segment when it names one', (t) => {
  const entries = toEntries(
    doc({
      gemini: { key: 'a' },
      openai: { key: 'b' },
      codex: { token: 'c' },
      anthropic: { key: 'd' },
      Zhipu: { key: 'e' },
      other: { GEMINI_KEY: 'f' },
    }),
  );
  t.deepEqual(
    entries.map((e) => [e.name, e.provider]),
    [
      ['GEMINI_KEY', 'gemini'],
      ['OPENAI_KEY', 'openai'],
      ['CODEX_TOKEN', 'openai'],
      ['ANTHROPIC_KEY', 'anthropic'],
      ['ZHIPU_KEY', 'zhipu'],
      ['OTHER_GEMINI_KEY', 'ops'],
    ],
  );
});

test('takes the provider from the name prefix otherwise, else ops', (t) => {
  const cases: [string, Provider][] = [
    ['GEMINI_API_KEY', 'gemini'],
    ['GOOGLE_API_KEY', 'gemini'],
    ['OPENAI_API_KEY', 'openai'],
    ['CODEX_TOKEN', 'openai'],
    ['ANTHROPIC_API_KEY', 'anthropic'],
    ['CLAUDE_TOKEN', 'anthropic'],
    ['ZHIPU_KEY', 'zhipu'],
    ['GLM_KEY', 'zhipu'],
    ['BIGMODEL_KEY', 'zhipu'],
    ['GEMINI', 'gemini'],
    ['GEMINIKEY', 'ops'],
    ['DATABASE_URL', 'ops'],
    ['MCP_SECRETS_VERSION', 'ops'],
  ];
  for (const [name, provider] of cases) t.is(providerOf([name], name), provider, name);
  t.deepEqual(
    toEntries(doc({ google: { api_key: 'x' } })).map((e) => e.provider),
    ['gemini'],
  );
});

test('reads the secrets version from MCP_SECRETS_VERSION, null when absent or empty', (t) => {
  t.is(secretsVersionOf(toEntries(doc({ A: 'x', MCP_SECRETS_VERSION: '2026.11.3' }))), '2026.11.3');
  t.is(secretsVersionOf(toEntries(doc({ mcp: { secrets: { version: 7 } } }))), '7');
  t.is(secretsVersionOf(toEntries(doc({ A: 'x' }))), null);
  t.is(secretsVersionOf(toEntries(doc({ MCP_SECRETS_VERSION: null }))), null);
});

test('gives no entry for an empty map', (t) => {
  t.deepEqual(toEntries(doc({ empty: {}, A: '1' })).map((e) => e.name), ['A']);
});
