import test from 'ava';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { AppError } from '../../../src/errors.js';
import { decrypt, encrypt, inspect, type SopsFormat } from '../../../src/sops/index.js';
import { MAX_NESTING_DEPTH } from '../../../src/sops/stores/errors.js';

function parseFailure(text: string, format: SopsFormat): AppError {
  try {
    inspect(Buffer.from(text), { format, path: `deep.${format}` });
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error; // a RangeError here is the bug this file guards against
  }
  throw new Error('expected a failure');
}

function nestedLists(depth: number, leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

test('the depth limit is 100 levels', (t) => {
  t.is(MAX_NESTING_DEPTH, 100);
});

test('a 6 KB YAML list nested 3,000 deep is E_PARSE naming the limit, not a stack overflow', (t) => {
  const text = `x: ${'['.repeat(3000)}${']'.repeat(3000)}\n`;
  t.true(text.length < 7000);
  const error = parseFailure(text, 'yaml');
  t.is(error.code, 'E_PARSE');
  t.regex(error.message, /deep\.yaml:1: maps and lists nest deeper than 100 levels \(the limit\)/);
  t.is(error.details?.limit, 100);
});

test('JSON nested 50,000 deep is E_PARSE naming the limit', (t) => {
  const error = parseFailure(`{"x":${'['.repeat(50_000)}${']'.repeat(50_000)}}`, 'json');
  t.is(error.code, 'E_PARSE');
  t.regex(error.message, /nest deeper than 100 levels/);
});

test('block maps nested past the limit are E_PARSE at the line where the limit is crossed', (t) => {
  const text = Array.from({ length: 150 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') + ' leaf\n';
  const error = parseFailure(text, 'yaml');
  t.is(error.code, 'E_PARSE');
  t.is(error.details?.line, MAX_NESTING_DEPTH + 1);
});

test('the full YAML parser (anchors, aliases) applies the same limit, aliases included', (t) => {
  t.is(parseFailure(`x: &a ${'['.repeat(150)}${']'.repeat(150)}\n`, 'yaml').code, 'E_PARSE');
  // each part is shallow; the alias puts one inside the other past the limit
  const half = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;
  const aliased = `a: &a ${half(60)}\nb: ${'['.repeat(60)}*a${']'.repeat(60)}\n`;
  t.regex(parseFailure(aliased, 'yaml').message, /nest deeper than 100 levels/);
});

test('a bundle nested just within the limit encrypts and decrypts; one level more is refused on read', async (t) => {
  const identity = await generateIdentity();
  const recipients = [await identityToRecipient(identity)];
  // the root map is one level, so 99 lists make 100
  const within = await encrypt({ deep: nestedLists(99, 'deep-secret-value') }, { format: 'yaml', recipients });
  const opened = await decrypt(within, { format: 'yaml', identities: [identity] });
  let value: unknown = opened.get('deep');
  for (let i = 0; i < 99; i++) value = (value as unknown[])[0];
  t.is(value, 'deep-secret-value');

  const beyond = await encrypt({ deep: nestedLists(100, 'deep-secret-value') }, { format: 'yaml', recipients });
  const error = await t.throwsAsync(decrypt(beyond, { format: 'yaml', identities: [identity] }));
  t.true(error instanceof AppError);
  t.is((error as AppError).code, 'E_PARSE');
  t.false((error as AppError).message.includes('deep-secret-value'));
});

test('INI and dotenv are flat: a value full of brackets is just text', (t) => {
  const brackets = '['.repeat(3000);
  for (const [format, text] of [['dotenv', `X=${brackets}\n`], ['ini', `[s]\nx = ${brackets}\n`]] as const) {
    // no sops metadata: E_NOT_SOPS, never a parse of the brackets
    t.is(parseFailure(text, format).code, 'E_NOT_SOPS', format);
  }
});
