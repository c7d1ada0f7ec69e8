import test from 'ava';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { fromPlain, type TreeMap } from '../../../src/sops/tree.js';
import { toEntries } from '../../../src/render/entries.js';
import { renderConsole } from '../../../src/render/console.js';

// dist/test/unit/render → repo root
const SCHEMA_PATH = fileURLToPath(new URL('../../../../schemas/console-secrets.schema.json', import.meta.url));
const SHA = 'd'.repeat(64);
const COMMIT = 'e'.repeat(40);

// A Map, not an object literal: JavaScript objects move integer-like keys to the front.
const bundle: TreeMap = new Map([
  ['MCP_SECRETS_VERSION', '2026.11.3'],
  ['openai', fromPlain({ api_key: 'sk-"quoted"\nline' })],
  ['GEMINI_API_KEY', 'g'],
  ['db', fromPlain({ port: 5432, ssl: true, note: null })],
  ['10', 'integer-like'],
  ['2', 'keeps order'],
]);

async function validator() {
  const schema = JSON.parse(await readFile(SCHEMA_PATH, 'utf8')) as object;
  return new Ajv2020({ strict: true, allErrors: true }).compile(schema);
}

test('renders the SecretStore v1 document with two-space indent and a newline at the end', (t) => {
  const entries = toEntries(fromPlain({ MCP_SECRETS_VERSION: '7', openai: { api_key: 'sk' } }) as TreeMap);
  const out = new TextDecoder().decode(renderConsole(entries, { path: 'config/secrets.enc.yaml', sha256: SHA, commit: COMMIT }));
  t.is(
    out,
    `{
  "kind": "SecretStore",
  "schemaVersion": 1,
  "secretsVersion": "7",
  "source": {
    "path": "config/secrets.enc.yaml",
    "sha256": "${SHA}",
    "commit": "${COMMIT}"
  },
  "secrets": [
    {
      "name": "MCP_SECRETS_VERSION",
      "provider": "ops",
      "value": "7"
    },
    {
      "name": "OPENAI_API_KEY",
      "provider": "openai",
      "value": "sk"
    }
  ]
}
`,
  );
});

test('keeps bundle order and every value exactly', (t) => {
  const entries = toEntries(bundle);
  const parsed = JSON.parse(new TextDecoder().decode(renderConsole(entries, { path: 'p', sha256: SHA, commit: null }))) as {
    secrets: { name: string; value: string }[];
  };
  t.deepEqual(
    parsed.secrets.map((s) => [s.name, s.value]),
    entries.map((e) => [e.name, e.value]),
  );
  t.deepEqual(
    parsed.secrets.map((s) => s.name),
    ['MCP_SECRETS_VERSION', 'OPENAI_API_KEY', 'GEMINI_API_KEY', 'DB_PORT', 'DB_SSL', 'DB_NOTE', '10', '2'],
  );
});

test('writes secretsVersion null and commit null when there are none', (t) => {
  const entries = toEntries(fromPlain({ A: 'x' }) as TreeMap);
  const parsed = JSON.parse(new TextDecoder().decode(renderConsole(entries, { path: 'p', sha256: SHA, commit: null }))) as Record<string, unknown>;
  t.is(parsed.secretsVersion, null);
  t.deepEqual(parsed.source, { path: 'p', sha256: SHA, commit: null });
});

test('is deterministic: equal bundles give byte-equal output', (t) => {
  const source = { path: 'config/secrets.enc.yaml', sha256: SHA, commit: COMMIT };
  const rebuilt = new Map(bundle) as TreeMap;
  t.deepEqual(renderConsole(toEntries(bundle), source), renderConsole(toEntries(rebuilt), { ...source }));
});

test('real rendered output passes the JSON Schema, with and without a commit and version', async (t) => {
  const validate = await validator();
  for (const [document, commit] of [
    [bundle, COMMIT],
    [fromPlain({ A: 'x' }) as TreeMap, null],
    [new Map() as TreeMap, 'f'.repeat(64)],
  ] as const) {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(renderConsole(toEntries(document), { path: 'config/secrets.enc.yaml', sha256: SHA, commit })));
    t.true(validate(parsed), JSON.stringify(validate.errors));
  }
});

test('the schema is strict: unknown keys, bad providers and bad hashes are rejected', async (t) => {
  const validate = await validator();
  const good = JSON.parse(new TextDecoder().decode(renderConsole(toEntries(bundle), { path: 'p', sha256: SHA, commit: null }))) as Record<string, unknown>;
  t.true(validate(good));
  t.false(validate({ ...good, generatedAt: '2026-01-01T00:00:00Z' }));
  t.false(validate({ ...good, schemaVersion: 2 }));
  t.false(validate({ ...good, source: { path: 'p', sha256: 'not-hex', commit: null } }));
  t.false(validate({ ...good, secrets: [{ name: 'A', provider: 'aws', value: 'x' }] }));
  t.false(validate({ ...good, secrets: [{ name: 'A', provider: 'ops', value: 'x', extra: 1 }] }));
  t.false(validate({ ...good, secrets: [{ name: 'a-b', provider: 'ops', value: 'x' }] }));
});
