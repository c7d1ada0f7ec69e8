/**
 * The keytar backend: macOS Keychain, Windows Credential Vault, Secret Service (libsecret) on
 * Linux. keytar is an optional PEER dependency (`MCP_SECRETS_KEYCHAIN=keytar`), installed only by
 * teams that choose it (it compiles against libsecret where no prebuilt binary fits, and is no
 * longer maintained upstream). It is loaded on first use through a specifier the compiler does not
 * follow, so neither the build nor any other test needs keytar or its types.
 *
 * Two libsecret traps, seen with gnome-keyring 42 and keytar 7.9 (see test/integration/identity):
 * - reads from a LOCKED collection do not fail: `getPassword` gives null and `deletePassword`
 *   false, as if nothing were stored; so a null/false answer is checked against the collection's
 *   lock state before it is believed;
 * - keytar's `findCredentials` crashes the process (SIGSEGV) on any matching item it cannot read
 *   fully: every item of a locked collection, and every item @napi-rs/keyring wrote under the same
 *   service (those have a `username` attribute, not keytar's `account`). So on Linux keytar never
 *   lists: {@link secretServiceAccounts} asks the Secret Service over D-Bus (`dbus-send`
 *   SearchItems, then each item's attributes) and keeps the items keytar itself wrote.
 */
import { classifyKeychainFailure, FALLBACK_HINT, keychainError } from './errors.js';
import { KEYCHAIN_SERVICE, type Keychain } from './types.js';

/** The part of keytar's API we use. */
export interface KeytarApi {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
  findCredentials(service: string): Promise<{ account: string; password: string }[]>;
}

/** Lock state of the Secret Service's default collection; `unknown` when it cannot be asked. */
export type CollectionState = 'unlocked' | 'locked' | 'missing' | 'unknown';

export interface KeytarKeychainOptions {
  /** Environment for helper processes (dbus-send); default process.env. keytar itself reads process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Default `process.platform`; the lock check runs on Linux only. */
  readonly platform?: NodeJS.Platform;
  /** Loads keytar; injectable for tests. */
  readonly load?: () => Promise<KeytarApi>;
  /** Asks the lock state; injectable for tests. Default: {@link secretServiceCollectionState}. */
  readonly collectionState?: () => Promise<CollectionState>;
  /** Linux listing without keytar; injectable for tests. Default: {@link secretServiceAccounts}. */
  readonly listAccounts?: (what: string) => Promise<{ accounts: string[]; locked: boolean }>;
}

/** A variable, not a literal: tsc then types the import as `any` and never looks for keytar. */
const KEYTAR_MODULE: string = 'keytar';

/** The E_KEYCHAIN `unavailable` hint for keytar. */
export const KEYTAR_UNAVAILABLE_HINT =
  'MCP_SECRETS_KEYCHAIN=keytar, but keytar cannot be loaded: it is an optional peer dependency, install it next to mcp-secrets ' +
  '(`npm install keytar@7.9.0`; on Linux it needs libsecret-1-dev, pkg-config and a C++ compiler when no prebuilt binary fits), ' +
  `or unset MCP_SECRETS_KEYCHAIN to use the default @napi-rs/keyring backend; ${FALLBACK_HINT}`;

async function loadKeytar(): Promise<KeytarApi> {
  const mod = (await import(KEYTAR_MODULE)) as { default?: KeytarApi } & Partial<KeytarApi>;
  const api = mod.default ?? (mod as KeytarApi);
  if (typeof api.getPassword !== 'function') throw new Error('keytar has no getPassword export');
  return api;
}

/** Only what dbus-send needs to find the bus: never SOPS_AGE_KEY or anything else from the caller. */
function busEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const keep = ['PATH', 'HOME', 'DBUS_SESSION_BUS_ADDRESS', 'XDG_RUNTIME_DIR', 'DISPLAY', 'LANG'];
  return Object.fromEntries(keep.flatMap((name) => (env[name] === undefined ? [] : [[name, env[name] as string]])));
}

/**
 * Asks the Secret Service (over D-Bus, with `dbus-send`) whether its default collection is
 * locked. Never throws: any failure to ask is `unknown`, and keytar's own error then tells why.
 */
export async function secretServiceCollectionState(env: Readonly<Record<string, string | undefined>> = process.env): Promise<CollectionState> {
  try {
    // Loaded here, not at the top: it costs a few hundred ms and only Linux reads need it.
    const { execa } = await import('execa');
    const result = await execa(
      'dbus-send',
      [
        '--session',
        '--print-reply=literal',
        '--reply-timeout=3000',
        '--dest=org.freedesktop.secrets',
        '/org/freedesktop/secrets/aliases/default',
        'org.freedesktop.DBus.Properties.Get',
        'string:org.freedesktop.Secret.Collection',
        'string:Locked',
      ],
      { env: busEnv(env), extendEnv: false, reject: false, timeout: 5000, stdin: 'ignore' },
    );
    const out = `${String(result.stdout)}\n${String(result.stderr)}`;
    if (result.exitCode === 0) {
      if (/boolean\s+true/.test(out)) return 'locked';
      if (/boolean\s+false/.test(out)) return 'unlocked';
      return 'unknown';
    }
    return /Object does not exist/i.test(out) ? 'missing' : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Parses `dbus-send --print-reply` dict entries of string → string. */
function stringDict(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const unquote = (s: string) => s.replace(/\\(.)/g, '$1');
  for (const m of text.matchAll(/dict entry\(\s*string "((?:[^"\\]|\\.)*)"\s*string "((?:[^"\\]|\\.)*)"\s*\)/g)) {
    out.set(unquote(m[1] ?? ''), unquote(m[2] ?? ''));
  }
  return out;
}

/**
 * The accounts of the items keytar stored under `service` (they carry an `account` attribute),
 * found over D-Bus without reading any secret, and whether any matching item is locked.
 *
 * @throws AppError E_KEYCHAIN with the cause dbus-send's error names (no D-Bus, no Secret Service…).
 */
export async function secretServiceAccounts(
  service: string,
  what: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<{ accounts: string[]; locked: boolean }> {
  const { execa } = await import('execa');
  const send = async (args: string[]) => {
    const r = await execa('dbus-send', ['--session', '--print-reply', '--reply-timeout=5000', '--dest=org.freedesktop.secrets', ...args], {
      env: busEnv(env),
      extendEnv: false,
      reject: false,
      timeout: 10_000,
      stdin: 'ignore',
    });
    if (r.exitCode !== 0) {
      const message = `${String(r.stderr)} ${r.failed && r.exitCode === undefined ? String(r.message) : ''}`;
      throw keychainError(classifyKeychainFailure(message), what, new Error(message.trim()));
    }
    return String(r.stdout);
  };
  const found = await send(['/org/freedesktop/secrets', 'org.freedesktop.Secret.Service.SearchItems', `dict:string:string:service,${service}`]);
  // the reply is two arrays of object paths: unlocked items, then locked ones
  const [unlockedPart = '', lockedPart = ''] = found.split(/\n\s*\]\s*\n/);
  const paths = (part: string) => [...part.matchAll(/object path "([^"]+)"/g)].map((m) => m[1] as string);
  const accounts: string[] = [];
  for (const item of paths(unlockedPart)) {
    const attributes = stringDict(await send([item, 'org.freedesktop.DBus.Properties.Get', 'string:org.freedesktop.Secret.Item', 'string:Attributes']));
    const account = attributes.get('account');
    if (attributes.get('service') === service && account !== undefined) accounts.push(account);
  }
  return { accounts, locked: paths(lockedPart).length > 0 };
}

/**
 * A {@link Keychain} backed by keytar. Every failure is an AppError E_KEYCHAIN whose
 * `details.cause` says why (see errors.ts); keytar failing to load is cause `unavailable`.
 */
export function keytarKeychain(options: KeytarKeychainOptions = {}): Keychain {
  const load = options.load ?? loadKeytar;
  const platform = options.platform ?? process.platform;
  const env = options.env ?? process.env;
  const collectionState = options.collectionState ?? (() => secretServiceCollectionState(env));
  const listAccounts = options.listAccounts ?? ((what: string) => secretServiceAccounts(KEYCHAIN_SERVICE, what, env));
  let loaded: Promise<KeytarApi> | null = null;

  async function api(what: string): Promise<KeytarApi> {
    loaded ??= load();
    try {
      return await loaded;
    } catch (error) {
      throw keychainError('unavailable', what, error, { hint: KEYTAR_UNAVAILABLE_HINT });
    }
  }

  async function call<T>(what: string, operation: (keytar: KeytarApi) => Promise<T>): Promise<T> {
    const keytar = await api(what);
    try {
      return await operation(keytar);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw keychainError(classifyKeychainFailure(message), what, error);
    }
  }

  /** Throws `locked` when the Secret Service says its collection is locked (Linux only). */
  async function refuseIfLocked(what: string): Promise<void> {
    if (platform !== 'linux') return;
    if ((await collectionState()) === 'locked') throw keychainError('locked', what);
  }

  return {
    name: 'keytar',
    async get(recipient) {
      const what = `cannot read ${recipient} from the OS keychain (keytar)`;
      const line = await call(what, (k) => k.getPassword(KEYCHAIN_SERVICE, recipient));
      if (line === null) await refuseIfLocked(what);
      return line;
    },
    async set(recipient, secretLine) {
      await call(`cannot store ${recipient} in the OS keychain (keytar)`, (k) => k.setPassword(KEYCHAIN_SERVICE, recipient, secretLine));
    },
    async delete(recipient) {
      const what = `cannot remove ${recipient} from the OS keychain (keytar)`;
      const removed = await call(what, (k) => k.deletePassword(KEYCHAIN_SERVICE, recipient));
      if (!removed) await refuseIfLocked(what);
      return removed;
    },
    async listRecipients() {
      const what = 'cannot list identities in the OS keychain (keytar)';
      await api(what);
      await refuseIfLocked(what);
      if (platform === 'linux') {
        const { accounts, locked } = await listAccounts(what);
        if (locked) throw keychainError('locked', what);
        return [...new Set(accounts)].sort();
      }
      const credentials = await call(what, (k) => k.findCredentials(KEYCHAIN_SERVICE));
      return credentials.map((c) => c.account).sort();
    },
  };
}
