import test from 'ava';
import { generateHybridIdentity, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { AppError } from '../../../src/errors.js';
import { parseIdentities, recipientOf } from '../../../src/identity/age-key.js';

/** The same key with its last bech32 character changed: right shape, wrong checksum. */
function withBadChecksum(key: string): string {
  const last = key.at(-1) === 'Q' ? 'P' : 'Q';
  return key.slice(0, -1) + last;
}

test('reads an age-keygen key file with comments and a trailing newline', async (t) => {
  const key = await generateX25519Identity();
  const recipient = await identityToRecipient(key);
  const text = `# created: 2026-01-01T00:00:00Z\n# public key: ${recipient}\n${key}\n`;
  t.deepEqual(await parseIdentities(text, { origin: 'keys.txt' }), [{ line: key, recipient }]);
});

test('reads CRLF line ends, blank lines, no final newline and several keys in order', async (t) => {
  const a = await generateX25519Identity();
  const b = await generateX25519Identity();
  const text = `\r\n# one\r\n${a}\r\n\r\n  ${b}  `;
  const parsed = await parseIdentities(text, { origin: 'stdin' });
  t.deepEqual(
    parsed.map((p) => p.line),
    [a, b],
  );
  t.is(parsed[1]?.recipient, await identityToRecipient(b));
});

test('keeps a repeated key once', async (t) => {
  const a = await generateX25519Identity();
  t.is((await parseIdentities(`${a}\n${a}\n`, { origin: 'stdin' })).length, 1);
});

test('gives no identities for text with only comments', async (t) => {
  t.deepEqual(await parseIdentities('# nothing here\n\n', { origin: 'stdin' }), []);
});

test('accepts post-quantum hybrid identities', async (t) => {
  const key = await generateHybridIdentity();
  const [parsed] = await parseIdentities(key, { origin: 'stdin' });
  t.true(parsed?.recipient.startsWith('age1pq1'));
});

test('rejects a key with a bad checksum naming the line number and never the key', async (t) => {
  const good = await generateX25519Identity();
  const bad = withBadChecksum(await generateX25519Identity());
  const error = await t.throwsAsync(parseIdentities(`# c\n${good}\n${bad}\n`, { origin: '/home/u/keys.txt' }), { instanceOf: AppError });
  t.is(error?.code, 'E_PARSE');
  t.regex(error?.message ?? '', /line 3 of \/home\/u\/keys\.txt/);
  t.regex(error?.message ?? '', /bad checksum/);
  for (const text of [error?.message ?? '', error?.hint ?? '', JSON.stringify(error?.details)]) {
    t.false(text.includes(bad.slice(15, 40)));
    t.false(text.includes(good.slice(15, 40)));
  }
});

test('says what kind of line is wrong without echoing it', async (t) => {
  const key = await generateX25519Identity();
  const recipient = await identityToRecipient(key);
  const cases: [string, RegExp][] = [
    [key.toLowerCase(), /lower case/],
    [recipient, /a recipient/],
    ['AGE-PLUGIN-YUBIKEY-1QQQQQQ', /plugin/],
    ['export SOPS_AGE_KEY=oops', /not an age secret key/],
  ];
  for (const [line, kind] of cases) {
    const error = await t.throwsAsync(parseIdentities(line, { origin: 'stdin' }));
    t.regex(error?.message ?? '', kind);
    t.regex(error?.message ?? '', /line 1 of stdin/);
    t.false((error?.message ?? '').includes(line));
  }
});

test('derives the recipient of one line and rejects a bad one without echoing it', async (t) => {
  const key = await generateX25519Identity();
  t.is(await recipientOf(key), await identityToRecipient(key));
  const bad = withBadChecksum(key);
  const error = await t.throwsAsync(recipientOf(bad), { instanceOf: AppError });
  t.is(error?.code, 'E_PARSE');
  t.false((error?.message ?? '').includes(bad.slice(15)));
});
