import test from 'ava';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { AppError } from '../../../src/errors.js';
import { decrypt, encrypt, inspect, updateRecipients } from '../../../src/sops/index.js';

const SECRET = 'hunter2-very-secret-value';

/** Everything an error shows or carries, as one string. */
function exposed(error: unknown): string {
  if (!(error instanceof AppError)) return String(error);
  return [error.message, error.hint ?? '', JSON.stringify(error.details ?? {}), String((error.cause as Error | undefined)?.message ?? '')].join('\n');
}

async function fixture(): Promise<{ identity: string; recipient: string; text: string }> {
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  const text = Buffer.from(await encrypt({ api: { token: SECRET }, list: [SECRET, 42] }, { format: 'yaml', recipients: [recipient] })).toString('utf8');
  return { identity, recipient, text };
}

async function failure(run: () => Promise<unknown>): Promise<AppError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

test('never puts a secret value or an identity in any error, whatever was damaged', async (t) => {
  const { identity, text } = await fixture();
  const other = await generateIdentity();
  const damaged = [
    text.replace(/data:([A-Za-z0-9+/])/, (_m, c: string) => `data:${c === 'A' ? 'B' : 'A'}`),
    text.replace(/tag:([A-Za-z0-9+/])/, (_m, c: string) => `tag:${c === 'A' ? 'B' : 'A'}`),
    text.replace(/mac: ENC\[AES256_GCM,data:([A-Za-z0-9+/])/, (_m, c: string) => `mac: ENC[AES256_GCM,data:${c === 'A' ? 'B' : 'A'}`),
    text.replace(/^api:/m, `injected: ${SECRET}\napi:`),
    text.replace(/^ *mac:.*$/m, ''),
    text.replace(/type:str\]/, 'type:int]'),
    `${SECRET}: [unclosed`,
    `plain: ${SECRET}\n`,
  ];
  for (const input of damaged) {
    for (const ids of [[identity], [other], [`${identity}\n`]]) {
      const error = await failure(() => decrypt(input, { format: 'yaml', identities: ids, path: 'config/secrets.enc.yaml' }));
      const shown = exposed(error);
      t.false(shown.includes(SECRET), `${error.code}: ${error.message}`);
      t.false(/AGE-SECRET-KEY-1[0-9A-Z]{10}/i.test(shown), `${error.code}: ${error.message}`);
    }
  }
});

test('lists the file recipients and the tried recipients when no identity matches', async (t) => {
  const { recipient, text } = await fixture();
  const other = await generateIdentity();
  const otherRecipient = await identityToRecipient(other);
  const error = await failure(() => decrypt(text, { format: 'yaml', identities: [other], path: 'config/secrets.enc.yaml' }));
  t.is(error.code, 'E_NO_IDENTITY');
  t.true(error.message.includes('config/secrets.enc.yaml'));
  t.true(error.message.includes(recipient));
  t.true(error.message.includes(otherRecipient));
  t.deepEqual(error.details?.['fileRecipients'], [recipient]);
  t.deepEqual(error.details?.['triedRecipients'], [otherRecipient]);
});

test('names the key path, not the value, when one value fails authentication', async (t) => {
  const { identity, text } = await fixture();
  const tampered = text.replace(/(token: ENC\[AES256_GCM,data:)([A-Za-z0-9+/])/, (_m, p: string, c: string) => p + (c === 'A' ? 'B' : 'A'));
  const error = await failure(() => decrypt(tampered, { format: 'yaml', identities: [identity] }));
  t.is(error.code, 'E_DECRYPT');
  t.true(error.message.includes('api.token'));
});

test('reports malformed input as E_PARSE with the file and line', async (t) => {
  const error = await failure(async () => inspect('a: 1\nb: [unclosed\nc: 2\n', { format: 'yaml', path: 'x.yaml' }));
  t.is(error.code, 'E_PARSE');
  t.regex(error.message, /x\.yaml:\d+/);
  const json = await failure(async () => inspect('{"a": ', { format: 'json', path: 'x.json' }));
  t.is(json.code, 'E_PARSE');
  const env = await failure(async () => inspect('no equals sign here\n', { format: 'dotenv', path: 'x.env' }));
  t.is(env.code, 'E_PARSE');
  t.true(env.message.includes('x.env:1'));
});

test('reports a valid file without sops metadata as E_NOT_SOPS with a hint', async (t) => {
  for (const [format, text] of [['yaml', 'a: 1\n'], ['json', '{"a": 1}'], ['dotenv', 'A=1\n'], ['ini', '[s]\na = 1\n']] as const) {
    const error = await failure(async () => inspect(text, { format, path: `plain.${format}` }));
    t.is(error.code, 'E_NOT_SOPS');
    t.true(error.hint?.includes('mcp-secrets rotate'));
  }
});

test('explains that a file with only PGP keys needs the sops engine', async (t) => {
  const { identity, text } = await fixture();
  const pgpOnly = text.replace(/ {4}age:\n(?: {8}.*\n| {12}.*\n)+/, '    pgp:\n        - fp: ABCDEF\n          enc: x\n');
  const error = await failure(() => decrypt(pgpOnly, { format: 'yaml', identities: [identity] }));
  t.is(error.code, 'E_NO_IDENTITY');
  t.true(error.hint?.includes('sops'));
});

test('refuses an identity that is not an age key without echoing it', async (t) => {
  const { text } = await fixture();
  const error = await failure(() => decrypt(text, { format: 'yaml', identities: [`AGE-SECRET-KEY-1${SECRET.toUpperCase()}`] }));
  t.is(error.code, 'E_NO_IDENTITY');
  t.false(exposed(error).includes(SECRET.toUpperCase()));
});

test('refuses to rotate to an empty recipient list', async (t) => {
  const { identity, text } = await fixture();
  const error = await failure(() => updateRecipients(text, { format: 'yaml', identities: [identity], recipients: [] }));
  t.is(error.code, 'E_USAGE');
});
