import test from 'ava';
import { readFileSync } from 'node:fs';
import { decrypt, decryptDetailed, inspect, type TreeMap } from '../../../src/sops/index.js';
import { AppError } from '../../../src/errors.js';
import { allowedCodesFor, listNegativeCases, listPositiveCases, positiveCase, readExpectedJson, readIdentities } from '../../helpers/fixtures.js';
import { canonical } from '../../helpers/order.js';

// listing the cases throws (and so fails this file) when the corpus in test/fixtures is incomplete
for (const c of listPositiveCases()) {
  test(`decrypts ${c.id} to exactly its expected plaintext`, async (t) => {
    const identities = readIdentities(c.keysPath);
    const doc = await decrypt(readFileSync(c.encryptedPath), { format: c.format, identities, path: c.id });
    if (c.expectedBinPath) {
      const data = doc.get('data');
      t.true(data instanceof Uint8Array);
      t.true(Buffer.from(data as Uint8Array).equals(readFileSync(c.expectedBinPath)));
    } else {
      t.deepEqual(canonical(doc), canonical(readExpectedJson(c.expectedJsonPath as string)));
    }
  });
}

for (const c of listNegativeCases()) {
  test(`refuses ${c.id} with ${allowedCodesFor(c).join(' or ')} and returns nothing`, async (t) => {
    const identities = readIdentities(c.keysPath);
    let result: TreeMap | undefined;
    const error = await t.throwsAsync(async () => {
      result = await decrypt(readFileSync(c.encryptedPath), { format: c.format, identities, path: c.id });
    });
    t.is(result, undefined);
    t.true(error instanceof AppError);
    t.true(allowedCodesFor(c).includes((error as AppError).code), `got ${(error as AppError).code}: ${error?.message}`);
    t.true(error?.message.includes(c.id), 'the message names the file');
  });
}

test('reports which recipient opened a file whose identity matches its second recipient', async (t) => {
  const c = positiveCase('second-recipient');
  const identities = readIdentities(c.keysPath);
  const result = await decryptDetailed(readFileSync(c.encryptedPath), { format: c.format, identities, profile: true });
  t.is(result.metadata.ageRecipients[1], result.openedBy);
  t.truthy(result.timings);
});

test('inspects mixed age and PGP metadata without any identity', (t) => {
  const c = positiveCase('mixed-pgp');
  const summary = inspect(readFileSync(c.encryptedPath), { format: c.format });
  t.is(summary.ageRecipients.length, 2);
  t.deepEqual(summary.otherKeyTypes, ['pgp']);
  t.is(summary.version, '3.7.1');
});

test('reads mac_only_encrypted and encrypted_suffix from sops 3.13 metadata', (t) => {
  const c = positiveCase('mac-only-encrypted');
  const summary = inspect(readFileSync(c.encryptedPath), { format: c.format });
  t.true(summary.macOnlyEncrypted);
  t.is(summary.encryptedSuffix, 'Templates');
});
