import test from 'ava';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { AppError } from '../../../src/errors.js';
import { decrypt, encrypt, inspect, parseBundle, ParsedBundle } from '../../../src/sops/index.js';
import { canonical } from '../../helpers/order.js';

async function fixture(): Promise<{ identity: string; recipient: string; text: string }> {
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  const document = { MCP_SECRETS_VERSION: 'v1', api: { token: 'secret-token', port: 8080 }, list: ['a', true] };
  const text = Buffer.from(await encrypt(document, { format: 'yaml', recipients: [recipient] })).toString('utf8');
  return { identity, recipient, text };
}

test('a parsed bundle decrypts to the same document as its bytes, and can be decrypted again', async (t) => {
  const { identity, text } = await fixture();
  const parsed = parseBundle(text, { format: 'yaml', path: 'config/secrets.enc.yaml' });
  const fromBytes = await decrypt(text, { format: 'yaml', identities: [identity] });
  t.deepEqual(canonical(await decrypt(parsed, { format: 'yaml', identities: [identity] })), canonical(fromBytes));
  t.deepEqual(canonical(await decrypt(parsed, { format: 'yaml', identities: [identity] })), canonical(fromBytes));
});

test('a parsed bundle shows the same metadata as inspect, and is frozen', async (t) => {
  const { recipient, text } = await fixture();
  const parsed = parseBundle(text, { format: 'yaml' });
  t.deepEqual(parsed.metadata, inspect(text, { format: 'yaml' }));
  t.deepEqual(parsed.metadata.ageRecipients, [recipient]);
  t.true(Object.isFrozen(parsed));
});

test('decrypting a parsed bundle still checks every value tag and the MAC', async (t) => {
  const { identity, text } = await fixture();
  const badTag = text.replace(/tag:([A-Za-z0-9+/])/, (_m, c: string) => `tag:${c === 'A' ? 'B' : 'A'}`);
  const e1 = await t.throwsAsync(decrypt(parseBundle(badTag, { format: 'yaml', path: 'b.yaml' }), { format: 'yaml', identities: [identity] }));
  t.is((e1 as AppError).code, 'E_DECRYPT');
  t.true(e1?.message.includes('b.yaml'));
  const badMac = text.replace(/mac: ENC\[AES256_GCM,data:([A-Za-z0-9+/])/, (_m, c: string) => `mac: ENC[AES256_GCM,data:${c === 'A' ? 'B' : 'A'}`);
  const e2 = await t.throwsAsync(decrypt(parseBundle(badMac, { format: 'yaml' }), { format: 'yaml', identities: [identity] }));
  t.is((e2 as AppError).code, 'E_MAC_MISMATCH');
});

test('decrypt errors name the path given to decrypt, or else the one given to parseBundle', async (t) => {
  const { text } = await fixture();
  const other = await generateIdentity();
  const parsed = parseBundle(text, { format: 'yaml', path: 'rel/secrets.enc.yaml' });
  const e1 = await t.throwsAsync(decrypt(parsed, { format: 'yaml', identities: [other] }));
  t.true(e1?.message.includes('rel/secrets.enc.yaml'));
  const e2 = await t.throwsAsync(decrypt(parsed, { format: 'yaml', identities: [other], path: '/abs/secrets.enc.yaml' }));
  t.true(e2?.message.includes('/abs/secrets.enc.yaml'));
});

test('refuses a parsed bundle decrypted as another format, and an object that only looks like one', async (t) => {
  const { identity, text } = await fixture();
  const parsed = parseBundle(text, { format: 'yaml' });
  const e = await t.throwsAsync(decrypt(parsed, { format: 'json', identities: [identity] }));
  t.is((e as AppError).code, 'E_USAGE');
  const forged = Object.create(ParsedBundle.prototype) as ParsedBundle;
  await t.throwsAsync(decrypt(forged, { format: 'yaml', identities: [identity] }), { instanceOf: TypeError });
});

test('parseBundle reports E_NOT_SOPS and E_PARSE like inspect does', (t) => {
  t.is(t.throws(() => parseBundle('a: 1\n', { format: 'yaml', path: 'x.yaml' }))?.constructor, AppError);
  t.is((t.throws(() => parseBundle('a: 1\n', { format: 'yaml' })) as AppError).code, 'E_NOT_SOPS');
  t.is((t.throws(() => parseBundle('a: [1\n', { format: 'yaml' })) as AppError).code, 'E_PARSE');
});
