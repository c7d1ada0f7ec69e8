import test from 'ava';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { AppError } from '../../../src/errors.js';
import { classifyKeychainFailure, keychainFailureCause } from '../../../src/identity/keychain/errors.js';
import { MemoryKeychain } from '../../../src/identity/keychain/memory.js';
import { napiKeychain, type NapiEntry, type NapiKeyringApi } from '../../../src/identity/keychain/napi.js';
import { copyIdentities, describeOtherBackend, lookIntoOtherBackend } from '../../../src/identity/keychain/other-backend.js';
import type { Keychain } from '../../../src/identity/keychain/types.js';

const SECRET = 'AGE-SECRET-KEY-1SECRETSECRETSECRETSECRETSECRETSECRETSECRETSECRETSECRETQQ';
const BUS = { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' };

interface Call {
  op: string;
  service: string;
  account: string;
  options: unknown;
  signal: AbortSignal | null | undefined;
}

/** An @napi-rs/keyring stand-in over a Map; `hang` makes every call wait until its signal aborts. */
function fakeNapi(behaviour: { fail?: string; hang?: boolean } = {}): NapiKeyringApi & { items: Map<string, string>; calls: Call[] } {
  const items = new Map<string, string>();
  const calls: Call[] = [];
  const run = <T>(call: Call, answer: () => T): Promise<T> => {
    calls.push(call);
    if (behaviour.hang) {
      return new Promise((_, reject) => call.signal?.addEventListener('abort', () => reject(new Error('AbortError: The operation was aborted'))));
    }
    if (behaviour.fail) return Promise.reject(new Error(behaviour.fail));
    return Promise.resolve(answer());
  };
  class AsyncEntry implements NapiEntry {
    constructor(
      readonly service: string,
      readonly account: string,
      readonly options?: unknown,
    ) {}
    getPassword(signal?: AbortSignal | null) {
      return run({ op: 'get', service: this.service, account: this.account, options: this.options, signal }, () => items.get(`${this.service}/${this.account}`) ?? null);
    }
    setPassword(password: string, signal?: AbortSignal | null) {
      return run({ op: 'set', service: this.service, account: this.account, options: this.options, signal }, () => {
        items.set(`${this.service}/${this.account}`, password);
      });
    }
    deletePassword(signal?: AbortSignal | null) {
      return run({ op: 'delete', service: this.service, account: this.account, options: this.options, signal }, () => items.delete(`${this.service}/${this.account}`));
    }
  }
  return {
    items,
    calls,
    AsyncEntry,
    findCredentialsAsync(service, _target, signal) {
      return run({ op: 'find', service, account: '', options: null, signal }, () =>
        [...items].filter(([k]) => k.startsWith(`${service}/`)).map(([k, password]) => ({ account: k.slice(service.length + 1), password })),
      );
    },
  };
}

test('stores items under service mcp-secrets with the recipient as account, pinned to the Secret Service on Linux', async (t) => {
  const api = fakeNapi();
  const keychain = napiKeychain({ load: async () => api, platform: 'linux', env: BUS });
  t.is(keychain.name, 'napi-keyring');
  await keychain.set('age1xyz', SECRET);
  t.deepEqual([...api.items.keys()], ['mcp-secrets/age1xyz']);
  t.is(await keychain.get('age1xyz'), SECRET);
  t.deepEqual(await keychain.listRecipients(), ['age1xyz']);
  t.true(await keychain.delete('age1xyz'));
  t.false(await keychain.delete('age1xyz'));
  // never the kernel keyring as a silent fallback: every entry names the Secret Service
  for (const call of api.calls.filter((c) => c.op !== 'find')) t.deepEqual(call.options, { linux: { store: 'secret-service' } });
  // every call can be given up: none runs without a signal
  t.true(api.calls.every((c) => c.signal instanceof AbortSignal));
});

test('does not pin a Linux store on macOS and Windows', async (t) => {
  for (const platform of ['darwin', 'win32'] as const) {
    const api = fakeNapi();
    await napiKeychain({ load: async () => api, platform, env: {} }).set('age1a', SECRET);
    t.is(api.calls[0]?.options, undefined);
  }
});

test('says no keychain backend is installed, with the remedy, when the platform binary is missing', async (t) => {
  const keychain = napiKeychain({
    load: async () => {
      throw new Error('Cannot find native binding. npm has a bug related to optional dependencies');
    },
    platform: 'linux',
    env: BUS,
  });
  for (const call of [() => keychain.listRecipients(), () => keychain.set('age1a', SECRET), () => keychain.get('age1a')]) {
    const error = await t.throwsAsync(call);
    t.true(error instanceof AppError);
    t.is((error as AppError).code, 'E_KEYCHAIN');
    t.is(keychainFailureCause(error), 'unavailable');
    t.regex(error?.message ?? '', /\(napi-keyring\): no keychain backend installed$/);
    t.regex((error as AppError).hint ?? '', /@napi-rs\/keyring binary for linux-\w+ is not installed .*--omit=optional/);
    t.regex((error as AppError).hint ?? '', /MCP_SECRETS_KEYCHAIN=keytar/);
    t.false(`${error?.message} ${(error as AppError).hint}`.includes(SECRET));
  }
});

test('says there is no D-Bus session on Linux without DBUS_SESSION_BUS_ADDRESS, before asking the library', async (t) => {
  const api = fakeNapi();
  const error = await t.throwsAsync(napiKeychain({ load: async () => api, platform: 'linux', env: {} }).listRecipients());
  t.is(keychainFailureCause(error), 'no-dbus');
  t.deepEqual(api.calls, []);
});

test('gives up a call that gets no answer with E_KEYCHAIN timeout, and the process stays responsive', async (t) => {
  const keychain = napiKeychain({ load: async () => fakeNapi({ hang: true }), platform: 'linux', env: BUS, timeoutMs: 50 });
  let ticks = 0;
  const timer = setInterval(() => (ticks += 1), 5);
  const error = await t.throwsAsync(keychain.get('age1a'));
  clearInterval(timer);
  t.is(keychainFailureCause(error), 'timeout');
  t.regex(error?.message ?? '', /no answer in time/);
  t.true(ticks > 0, 'the event loop kept running while the keychain call waited');
});

test('translates the library messages seen with gnome-keyring into causes', (t) => {
  const seen: [string, ReturnType<typeof classifyKeychainFailure>][] = [
    ['Couldn\'t access platform storage: Secret Service: unlock prompt was dismissed', 'locked'],
    ['zbus error: org.freedesktop.Secret.Error.IsLocked: Cannot get secret of a locked object', 'locked'],
    ['Couldn\'t access platform storage: Secret Service: no result found', 'no-collection'],
    ['Platform failure: DBus error: Failed to connect to socket /tmp/gone: No such file or directory', 'stale-bus'],
    ['zbus error: Failed to connect to address `unix:path=/tmp/gone`: No such file or directory (os error 2)', 'stale-bus'],
    ['Platform failure: DBus error: Using X11 for dbus-daemon autolaunch was disabled at compile time, set your DBUS_SESSION_BUS_ADDRESS instead', 'no-dbus'],
    ['Failed to open connection to "session" message bus: Unable to autolaunch a dbus-daemon without a $DISPLAY for X11', 'no-dbus'],
  ];
  for (const [message, cause] of seen) t.is(classifyKeychainFailure(message), cause, message);
});

test('keeps the library message only as the cause, never in the message', async (t) => {
  const keychain = napiKeychain({ load: async () => fakeNapi({ fail: 'Secret Service: unlock prompt was dismissed' }), platform: 'linux', env: BUS });
  const error = (await t.throwsAsync(keychain.set('age1a', SECRET))) as AppError;
  t.is(error.message, 'cannot store age1a in the OS keychain (napi-keyring): locked collection');
  t.false(error.message.includes('prompt'));
});

async function key(): Promise<{ line: string; recipient: string }> {
  const line = await generateX25519Identity();
  return { line, recipient: await identityToRecipient(line) };
}

test('copies identities from the other backend, verifying each by reading it back, and deletes nothing', async (t) => {
  const [a, b] = await Promise.all([key(), key()]);
  const from = new MemoryKeychain({ [a.recipient]: a.line, [b.recipient]: b.line });
  const to = new MemoryKeychain({ [b.recipient]: b.line });
  const result = await copyIdentities(from, to);
  t.deepEqual(result, { copied: [a.recipient], alreadyThere: [b.recipient] });
  t.deepEqual([...to.snapshot()].sort(), [...from.snapshot()].sort());
  t.is(from.snapshot().size, 2, 'the source keeps every item');
});

test('refuses to copy an item filed under a recipient its key does not derive', async (t) => {
  const [a, b] = await Promise.all([key(), key()]);
  const from = new MemoryKeychain({ [a.recipient]: b.line });
  const to = new MemoryKeychain();
  const error = (await t.throwsAsync(copyIdentities(from, to))) as AppError;
  t.is(error.code, 'E_CONFLICT');
  t.is(to.snapshot().size, 0);
  t.false(error.message.includes(b.line));
});

test('fails the copy when the target gives back something else, and keeps the source', async (t) => {
  const a = await key();
  const from = new MemoryKeychain({ [a.recipient]: a.line });
  const lossy: Keychain = { name: 'lossy', get: async () => null, set: async () => {}, delete: async () => false, listRecipients: async () => [] };
  const error = (await t.throwsAsync(copyIdentities(from, lossy))) as AppError;
  t.is(error.code, 'E_KEYCHAIN');
  t.regex(error.message, /could not be verified/);
  t.is(from.snapshot().get(a.recipient), a.line);
});

test('reports identities only the other backend holds, with the copy command, and an uninstalled one as not installed', async (t) => {
  const other = new MemoryKeychain({ age1only: SECRET, age1both: SECRET });
  const report = await lookIntoOtherBackend(other, 'keytar', ['age1both']);
  t.deepEqual(report, { store: 'keytar', onlyThere: ['age1only'], unreadable: null });
  t.regex(describeOtherBackend(report) ?? '', /1 identity \(age1only\) stored by the keytar backend is not visible .* `mcp-secrets identity copy --from keytar`/);
  const missing = new MemoryKeychain();
  missing.failWith('unavailable');
  t.deepEqual(await lookIntoOtherBackend(missing, 'keytar', []), { store: 'keytar', onlyThere: [], unreadable: 'not installed' });
  t.is(describeOtherBackend({ store: 'keytar', onlyThere: [], unreadable: 'not installed' }), null);
});
