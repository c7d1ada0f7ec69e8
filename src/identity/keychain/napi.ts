/**
 * The default backend, `@napi-rs/keyring` (keyring-rs over N-API): macOS Keychain, Windows
 * Credential Manager, Secret Service on Linux. Prebuilt per platform (npm optional packages), no
 * install script, no compiler.
 *
 * Rules, and why:
 * - only the async API (`AsyncEntry`, `findCredentialsAsync`), each call with an AbortSignal: the
 *   work runs off the event loop, so a keychain waiting on an unlock prompt never stalls the
 *   daemon, and a call that gets no answer ends as E_KEYCHAIN `timeout`;
 * - on Linux every entry is pinned to the Secret Service: keyring-rs otherwise falls back to the
 *   kernel keyring (keyutils) when D-Bus is missing, a weaker store we must never use silently;
 * - the module loads on first use, so commands that never touch the keychain start without it, and
 *   a missing platform binary (`npm ci --omit=optional`) is E_KEYCHAIN `unavailable` with the fix.
 *
 * Seen with gnome-keyring 42 (test/integration/identity): a LOCKED collection makes reads of an
 * existing item, writes and listing fail with an error (no crash, unlike keytar), while a read of
 * an item that does not exist answers null, which is true; so no extra lock check is needed.
 */
import { classifyKeychainFailure, FALLBACK_HINT, keychainError } from './errors.js';
import { KEYCHAIN_SERVICE, type Keychain } from './types.js';

/** One keychain item, as `AsyncEntry` gives it. */
export interface NapiEntry {
  getPassword(signal?: AbortSignal | null): Promise<string | null>;
  setPassword(password: string, signal?: AbortSignal | null): Promise<void>;
  deletePassword(signal?: AbortSignal | null): Promise<boolean>;
}

/** The part of `@napi-rs/keyring` we use. */
export interface NapiKeyringApi {
  AsyncEntry: new (service: string, account: string, options?: { linux?: { store?: 'secret-service' | 'keyutils' } }) => NapiEntry;
  findCredentialsAsync(service: string, target?: string | null, signal?: AbortSignal | null): Promise<{ account: string; password: string }[]>;
}

/** Package name, as users install it and as `MCP_SECRETS_KEYCHAIN` documentation names it. */
export const NAPI_PACKAGE = '@napi-rs/keyring';

/** How long one keychain call may take: long enough to type a password into an unlock prompt. */
export const DEFAULT_KEYCHAIN_TIMEOUT_MS = 120_000;

export interface NapiKeychainOptions {
  /** The caller's environment; on Linux, no DBUS_SESSION_BUS_ADDRESS means "no D-Bus session". */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Default `process.platform`. */
  readonly platform?: NodeJS.Platform;
  /** Loads the module; injectable for tests. */
  readonly load?: () => Promise<NapiKeyringApi>;
  /** Per call; default {@link DEFAULT_KEYCHAIN_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
}

async function loadNapiKeyring(): Promise<NapiKeyringApi> {
  const mod = (await import('@napi-rs/keyring')) as unknown as { default?: NapiKeyringApi } & Partial<NapiKeyringApi>;
  const api = mod.AsyncEntry ? (mod as NapiKeyringApi) : mod.default;
  if (!api || typeof api.AsyncEntry !== 'function') throw new Error(`${NAPI_PACKAGE} has no AsyncEntry export`);
  return api;
}

/** The E_KEYCHAIN `unavailable` hint for this backend: what is missing and how to get it. */
export function napiUnavailableHint(platform: string = process.platform, arch: string = process.arch): string {
  return (
    `the ${NAPI_PACKAGE} binary for ${platform}-${arch} is not installed (\`npm ci --omit=optional\` or \`--no-optional\` leaves it out): ` +
    `reinstall mcp-secrets without --omit=optional; or install keytar next to it and set MCP_SECRETS_KEYCHAIN=keytar; ${FALLBACK_HINT}`
  );
}

/**
 * A {@link Keychain} backed by `@napi-rs/keyring`. Every failure is an AppError E_KEYCHAIN whose
 * `details.cause` says why (see errors.ts).
 */
export function napiKeychain(options: NapiKeychainOptions = {}): Keychain {
  const load = options.load ?? loadNapiKeyring;
  const platform = options.platform ?? process.platform;
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? DEFAULT_KEYCHAIN_TIMEOUT_MS;
  const entryOptions = platform === 'linux' ? { linux: { store: 'secret-service' as const } } : undefined;
  let loaded: Promise<NapiKeyringApi> | null = null;

  async function call<T>(what: string, operation: (api: NapiKeyringApi, signal: AbortSignal) => Promise<T>): Promise<T> {
    loaded ??= load();
    let api: NapiKeyringApi;
    try {
      api = await loaded;
    } catch (error) {
      throw keychainError('unavailable', what, error, { hint: napiUnavailableHint(platform) });
    }
    // keyring-rs would try a default bus address; "no session" is the clearer diagnosis.
    if (platform === 'linux' && !env.DBUS_SESSION_BUS_ADDRESS) throw keychainError('no-dbus', what);
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      return await operation(api, signal);
    } catch (error) {
      if (signal.aborted) throw keychainError('timeout', `${what} (after ${Math.round(timeoutMs / 1000)} s)`, error);
      const message = error instanceof Error ? error.message : String(error);
      throw keychainError(classifyKeychainFailure(message), what, error);
    }
  }

  const entry = (api: NapiKeyringApi, recipient: string) => new api.AsyncEntry(KEYCHAIN_SERVICE, recipient, entryOptions);

  return {
    name: 'napi-keyring',
    get(recipient) {
      return call(`cannot read ${recipient} from the OS keychain (napi-keyring)`, (api, signal) => entry(api, recipient).getPassword(signal));
    },
    set(recipient, secretLine) {
      return call(`cannot store ${recipient} in the OS keychain (napi-keyring)`, (api, signal) => entry(api, recipient).setPassword(secretLine, signal));
    },
    delete(recipient) {
      return call(`cannot remove ${recipient} from the OS keychain (napi-keyring)`, (api, signal) => entry(api, recipient).deletePassword(signal));
    },
    async listRecipients() {
      const credentials = await call('cannot list identities in the OS keychain (napi-keyring)', (api, signal) =>
        api.findCredentialsAsync(KEYCHAIN_SERVICE, null, signal),
      );
      // the passwords came along with the accounts: keep only the names
      return [...new Set(credentials.map((c) => c.account))].sort();
    },
  };
}
