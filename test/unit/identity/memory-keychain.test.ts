import test from 'ava';
import { MemoryKeychain } from '../../../src/identity/keychain/memory.js';
import { keychainFailureCause } from '../../../src/identity/keychain/errors.js';

test('stores, lists, reads and removes items by recipient', async (t) => {
  const keychain = new MemoryKeychain();
  await keychain.set('age1b', 'B');
  await keychain.set('age1a', 'A');
  t.deepEqual(await keychain.listRecipients(), ['age1a', 'age1b']);
  t.is(await keychain.get('age1a'), 'A');
  t.true(await keychain.delete('age1a'));
  t.false(await keychain.delete('age1a'));
  t.is(await keychain.get('age1a'), null);
});

test('fails the chosen operations with the chosen cause until healed', async (t) => {
  const keychain = new MemoryKeychain({ age1a: 'A' });
  keychain.failWith('locked', ['set']);
  t.is(await keychain.get('age1a'), 'A');
  const error = await t.throwsAsync(keychain.set('age1b', 'B'));
  t.is(keychainFailureCause(error), 'locked');
  keychain.failWith(null);
  await keychain.set('age1b', 'B');
  t.is(keychain.snapshot().size, 2);
});
