import test from 'ava';
import { AppError } from '../../../src/errors.js';
import { keychainFailureCause } from '../../../src/identity/keychain/errors.js';
import { keytarKeychain, type CollectionState, type KeytarApi } from '../../../src/identity/keychain/keytar.js';
import { openKeychain } from '../../../src/identity/keychain/index.js';

const SECRET = 'AGE-SECRET-KEY-1SECRETSECRETSECRETSECRETSECRETSECRETSECRETSECRETSECRETQQ';

/** A keytar stand-in over a Map; `fail` makes every call throw that message. */
function fakeKeytar(fail: string | null = null): KeytarApi & { items: Map<string, string>; calls: string[] } {
  const items = new Map<string, string>();
  const calls: string[] = [];
  const guard = (name: string) => {
    calls.push(name);
    if (fail !== null) throw new Error(fail);
  };
  return {
    items,
    calls,
    async getPassword(service, account) {
      guard('get');
      return items.get(`${service}/${account}`) ?? null;
    },
    async setPassword(service, account, password) {
      guard('set');
      items.set(`${service}/${account}`, password);
    },
    async deletePassword(service, account) {
      guard('delete');
      return items.delete(`${service}/${account}`);
    },
    async findCredentials(service) {
      guard('find');
      return [...items].filter(([k]) => k.startsWith(`${service}/`)).map(([k, password]) => ({ account: k.slice(service.length + 1), password }));
    },
  };
}

/** On Linux the listing goes over D-Bus, never through keytar: here, straight from the fake's items. */
function backend(api: ReturnType<typeof fakeKeytar>, state: CollectionState = 'unlocked', platform: NodeJS.Platform = 'linux') {
  const listAccounts = async () => ({
    accounts: [...api.items.keys()].filter((k) => k.startsWith('mcp-secrets/')).map((k) => k.slice('mcp-secrets/'.length)),
    locked: state === 'locked',
  });
  return keytarKeychain({ load: async () => api, collectionState: async () => state, platform, listAccounts });
}

test('stores items under service mcp-secrets with the recipient as account', async (t) => {
  const api = fakeKeytar();
  const keychain = backend(api);
  await keychain.set('age1xyz', SECRET);
  t.deepEqual([...api.items.keys()], ['mcp-secrets/age1xyz']);
  t.is(await keychain.get('age1xyz'), SECRET);
  t.deepEqual(await keychain.listRecipients(), ['age1xyz']);
  t.true(await keychain.delete('age1xyz'));
  t.is(keychain.name, 'keytar');
});

for (const [message, cause] of [
  ['Cannot autolaunch D-Bus without X11 $DISPLAY', 'no-dbus'],
  ['The name org.freedesktop.secrets was not provided by any .service files', 'no-secret-service'],
  ['Could not connect: No such file or directory', 'stale-bus'],
  ['Cannot create an item in a locked collection', 'locked'],
  ['Object does not exist at path “/org/freedesktop/secrets/collection/login”', 'no-collection'],
  ['User interaction is not allowed.', 'denied'],
] as const) {
  test(`turns keytar's "${message.slice(0, 40)}" into E_KEYCHAIN ${cause} without the secret`, async (t) => {
    const keychain = backend(fakeKeytar(message));
    const error = await t.throwsAsync<AppError>(keychain.set('age1xyz', SECRET));
    t.is(keychainFailureCause(error), cause);
    t.regex(error?.message ?? '', /^cannot store age1xyz in the OS keychain \(keytar\): /);
    t.false(`${error?.message} ${error?.hint}`.includes('SECRETSECRET'));
  });
}

test('reports keytar that cannot load as unavailable, on every call', async (t) => {
  const keychain = keytarKeychain({
    load: async () => {
      throw new Error('Cannot find module keytar.node');
    },
    collectionState: async () => 'unlocked',
  });
  for (const call of [() => keychain.get('age1a'), () => keychain.listRecipients(), () => keychain.set('age1a', SECRET)]) {
    const error = await t.throwsAsync<AppError>(call());
    t.is(keychainFailureCause(error), 'unavailable');
    t.regex(error?.hint ?? '', /libsecret/);
  }
});

test('refuses to list a locked collection before keytar can crash on it', async (t) => {
  const api = fakeKeytar();
  const error = await t.throwsAsync(backend(api, 'locked').listRecipients());
  t.is(keychainFailureCause(error), 'locked');
  t.false(api.calls.includes('find'));
});

test('does not believe an empty read from a locked collection', async (t) => {
  const keychain = backend(fakeKeytar(), 'locked');
  t.is(keychainFailureCause(await t.throwsAsync(keychain.get('age1a'))), 'locked');
  t.is(keychainFailureCause(await t.throwsAsync(keychain.delete('age1a'))), 'locked');
});

test('believes an empty read when the collection is unlocked, missing or unknown', async (t) => {
  for (const state of ['unlocked', 'missing', 'unknown'] as const) {
    const keychain = backend(fakeKeytar(), state);
    t.is(await keychain.get('age1a'), null);
    t.false(await keychain.delete('age1a'));
    t.deepEqual(await keychain.listRecipients(), []);
  }
});

test('asks no lock state outside Linux', async (t) => {
  let asked = 0;
  const keychain = keytarKeychain({
    load: async () => fakeKeytar(),
    platform: 'darwin',
    collectionState: async () => {
      asked += 1;
      return 'locked';
    },
  });
  t.is(await keychain.get('age1a'), null);
  t.deepEqual(await keychain.listRecipients(), []);
  t.is(asked, 0);
});

test('opens napi-keyring by default, keytar when chosen, nothing with MCP_SECRETS_KEYCHAIN=none, and refuses unknown backends', (t) => {
  t.is(openKeychain({ env: {} })?.name, 'napi-keyring');
  t.is(openKeychain({ env: { MCP_SECRETS_KEYCHAIN: '' } })?.name, 'napi-keyring');
  t.is(openKeychain({ env: { MCP_SECRETS_KEYCHAIN: 'napi-keyring' } })?.name, 'napi-keyring');
  t.is(openKeychain({ env: { MCP_SECRETS_KEYCHAIN: 'keytar' } })?.name, 'keytar');
  t.is(openKeychain({ env: { MCP_SECRETS_KEYCHAIN: 'none' } }), null);
  const error = t.throws(() => openKeychain({ env: { MCP_SECRETS_KEYCHAIN: 'plaintext' } }));
  t.is((error as { code?: string }).code, 'E_USAGE');
});
