import test from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import dotenv from 'dotenv';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../../src/errors.js';
import type { Entry } from '../../../src/render/entries.js';
import { renderEnv, envFormOf } from '../../../src/render/env.js';
import { readWithBash, readWithDotenv, readWithPython } from '../../helpers/env-readers.js';

const SOURCE = { path: 'config/secrets.enc.yaml', sha256: 'a'.repeat(64) };

function entry(name: string, value: string): Entry {
  return { name, provider: 'ops', value, path: [name] };
}

function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** Values every reader has a quirk for; each must come back exactly. */
const TRICKY = [
  '',
  'plain',
  'sk-proj_ABC123/+=,.@%:',
  '~/not-expanded',
  ' leading and trailing ',
  'has # hash',
  '#start',
  'a=b=c',
  'tab\there',
  'two\nlines\n',
  '\n',
  '"double quoted"',
  '{"type":"service_account","private_key":"-----BEGIN KEY-----\\nMIIE\\n"}',
  "it's",
  "it's a \\path",
  '$HOME and ${HOME} and `id`',
  'back\\slash',
  'C:\\Users\\me',
  '\\n stays two characters',
  'ünïcødé 🔑 — ok',
  '\u2028line separator\u2029',
  '\v\f\u0085\u00a0',
  'ends with space ',
  '*?[glob]{a,b}!',
  "'",
  '"',
  '\\x',
];

test('writes a header naming the source and its sha256, then NAME=value lines in bundle order', (t) => {
  const out = text(renderEnv([entry('B', 'x'), entry('A', 'y y')], SOURCE));
  t.is(
    out,
    '# Written by mcp-secrets from config/secrets.enc.yaml; do not edit: changes are overwritten.\n' +
      `# source sha256: ${'a'.repeat(64)}\n` +
      "B=x\nA='y y'\n",
  );
});

test('picks the simplest form: bare, then single quotes, then double quotes', (t) => {
  t.is(envFormOf(''), 'bare');
  t.is(envFormOf('abc-123_/+=.'), 'bare');
  t.is(envFormOf('has space'), 'single');
  t.is(envFormOf('$HOME "x" `y`'), 'single');
  t.is(envFormOf('a\\b'), 'single');
  t.is(envFormOf("it's"), 'double');
  t.is(envFormOf("it's a\\path"), 'double');
  t.is(envFormOf('~'), 'single');
});

test('refuses values no form carries for every reader', (t) => {
  for (const value of ['cr\rhere', 'nul\0here', "both ' and \"", "quote ' and $dollar", "quote ' and `tick`", 'two \\\\ backslashes', 'ends with \\', '\\', "it's \\n", '\ud800 lone']) {
    t.is(envFormOf(value), null, JSON.stringify(value));
  }
});

test('fails with E_UNREPRESENTABLE naming the entry, never the value', (t) => {
  const secret = "pa'ss\"word-SECRET";
  const error = t.throws(() => renderEnv([entry('OK', 'x'), entry('DB_PASSWORD', secret)], SOURCE), { instanceOf: AppError });
  t.is(error?.code, 'E_UNREPRESENTABLE');
  t.regex(error?.message ?? '', /DB_PASSWORD/);
  t.truthy(error?.hint);
  t.false(JSON.stringify({ m: error?.message, h: error?.hint, d: error?.details, s: error?.stack }).includes('SECRET'));
});

test('fails with E_UNREPRESENTABLE for names bash cannot assign', (t) => {
  for (const name of ['2FA_SECRET', 'UID', 'RANDOM', 'SHELLOPTS']) {
    const error = t.throws(() => renderEnv([entry(name, 'v')], SOURCE), { instanceOf: AppError });
    t.is(error?.code, 'E_UNREPRESENTABLE');
    t.regex(error?.message ?? '', new RegExp(name));
  }
});

test('keeps the header on its lines whatever the source path holds', (t) => {
  const out = text(renderEnv([entry('A', '1')], { path: 'evil\nINJECTED=1\r\u2028x', sha256: 'b'.repeat(64) }));
  const lines = out.split('\n');
  t.is(lines.length, 4);
  t.true(lines[0]?.startsWith('# '));
  t.false(out.includes('\r'));
  t.false(out.includes('\u2028'));
  t.is(lines[2], 'A=1');
});

test('is deterministic: equal entries give byte-equal output', (t) => {
  const entries = TRICKY.map((v, i) => entry(`K${i}`, v));
  t.deepEqual(renderEnv(entries, SOURCE), renderEnv(entries.map((e) => ({ ...e })), { ...SOURCE }));
});

test('every tricky value reads back exactly with dotenv, bash and python-dotenv', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-env-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const entries = TRICKY.map((v, i) => entry(`K${i}`, v));
  const file = join(dir, '.env');
  await writeFile(file, renderEnv(entries, SOURCE), { mode: 0o600 });
  const names = entries.map((e) => e.name);
  const expected = Object.fromEntries(entries.map((e) => [e.name, e.value]));
  t.deepEqual(await readWithDotenv(file), expected);
  t.deepEqual(await readWithBash(file, names), expected);
  t.deepEqual(await readWithPython(file), expected);
});

test('the .env example in docs/output-formats.md is what the renderer writes', async (t) => {
  const doc = await readFile(fileURLToPath(new URL('../../../../docs/output-formats.md', import.meta.url)), 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
  const body = block.split('\n').slice(2).join('\n');
  const values = dotenv.parse(body);
  t.true(Object.keys(values).length >= 5);
  const rendered = text(renderEnv(Object.entries(values).map(([name, value]) => entry(name, value)), SOURCE));
  t.is(rendered.split('\n').slice(2).join('\n'), body);
});
