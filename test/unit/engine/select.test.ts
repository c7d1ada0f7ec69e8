import test from 'ava';
import { AppError } from '../../../src/errors.js';
import { chooseEngine } from '../../../src/engine/select.js';
import { createNativeEngine } from '../../../src/engine/native.js';
import type { DecryptEngine } from '../../../src/engine/types.js';

const native: DecryptEngine = { name: 'native', decrypt: async () => new Map() };
const sopsEngine: DecryptEngine = { name: 'sops', decrypt: async () => new Map() };

function engines(counter: { sopsBuilt: number }) {
  return {
    native,
    sops: () => {
      counter.sopsBuilt++;
      return sopsEngine;
    },
  };
}

const AGE = ['age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq'];
const never = () => Promise.reject(new Error('must not probe for sops'));

test('auto picks native when the bundle has an age recipient, even beside PGP, without building sops', async (t) => {
  const c = { sopsBuilt: 0 };
  t.is(await chooseEngine('auto', { ageRecipients: AGE, otherKeyTypes: [] }, engines(c), { sopsAvailable: never }), native);
  t.is(await chooseEngine('auto', { ageRecipients: AGE, otherKeyTypes: ['pgp', 'kms'] }, engines(c), { sopsAvailable: never }), native);
  t.is(c.sopsBuilt, 0);
});

test('auto refuses a bundle with only KMS, PGP or Vault keys, without probing or building sops', async (t) => {
  const c = { sopsBuilt: 0 };
  for (const otherKeyTypes of [['kms'], ['pgp'], ['hc_vault'], ['gcp_kms', 'azure_kv']]) {
    const error = await t.throwsAsync(chooseEngine('auto', { ageRecipients: [], otherKeyTypes }, engines(c), { sopsAvailable: never }), { instanceOf: AppError });
    t.is(error?.code, 'E_UNTRUSTED');
    t.true(error?.message.includes(otherKeyTypes.join(', ')), error?.message);
    t.regex(error?.hint ?? '', /--engine sops/);
    t.deepEqual(error?.details?.bundleRecipients, [], 'the daemon reads this to raise RECIPIENTS_CHANGED');
  }
  t.is(c.sopsBuilt, 0);
});

test('--engine sops opens a bundle with only KMS keys when sops is available', async (t) => {
  const c = { sopsBuilt: 0 };
  t.is(await chooseEngine('sops', { ageRecipients: [], otherKeyTypes: ['kms'] }, engines(c), { sopsAvailable: async () => true }), sopsEngine);
  t.is(c.sopsBuilt, 1);
});

test('says which key types need the missing sops binary', async (t) => {
  const error = await t.throwsAsync(
    chooseEngine('sops', { ageRecipients: [], otherKeyTypes: ['pgp', 'hc_vault'] }, engines({ sopsBuilt: 0 }), { sopsAvailable: async () => false }),
    { instanceOf: AppError },
  );
  t.is(error?.code, 'E_SOPS_CLI');
  t.regex(error?.message ?? '', /pgp, hc_vault/);
  t.regex(error?.message ?? '', /only the sops binary/);
  t.regex(error?.hint ?? '', /install sops/);
});

test('honours --engine sops and reports a missing binary with a native alternative for age bundles', async (t) => {
  const c = { sopsBuilt: 0 };
  t.is(await chooseEngine('sops', { ageRecipients: AGE, otherKeyTypes: [] }, engines(c), { sopsAvailable: async () => true }), sopsEngine);
  const error = await t.throwsAsync(chooseEngine('sops', { ageRecipients: AGE, otherKeyTypes: [] }, engines(c), { sopsAvailable: async () => false }), {
    instanceOf: AppError,
  });
  t.is(error?.code, 'E_SOPS_CLI');
  t.regex(error?.hint ?? '', /--engine native/);
});

test('refuses --engine native for a bundle without an age recipient, naming its key types', async (t) => {
  t.is(await chooseEngine('native', { ageRecipients: AGE, otherKeyTypes: ['pgp'] }, engines({ sopsBuilt: 0 }), { sopsAvailable: never }), native);
  const error = await t.throwsAsync(chooseEngine('native', { ageRecipients: [], otherKeyTypes: ['gcp_kms'] }, engines({ sopsBuilt: 0 }), { sopsAvailable: never }), {
    instanceOf: AppError,
  });
  t.is(error?.code, 'E_NO_IDENTITY');
  t.regex(error?.message ?? '', /gcp_kms/);
  t.regex(error?.hint ?? '', /--engine sops/);
});

test('the native adapter hands bytes, format and identities to the decrypt function', async (t) => {
  const seen: unknown[] = [];
  const tree = new Map([['A', 'b']]);
  const engine = createNativeEngine((bytes, options) => {
    seen.push(bytes.length, options.format, [...options.identities]);
    return tree;
  });
  t.is(engine.name, 'native');
  t.is(await engine.decrypt({ bytes: new Uint8Array(3), path: '/x', format: 'json', identities: ['K'] }), tree);
  t.deepEqual(seen, [3, 'json', ['K']]);
});
