/**
 * Picks the keychain backend: exactly one, chosen explicitly, never a silent fallback to a weaker
 * store. `MCP_SECRETS_KEYCHAIN`: unset or `napi-keyring` → @napi-rs/keyring (the OS keychain, the
 * default); `keytar` → keytar (an optional peer dependency, for teams that chose it); `none` → no
 * keychain at all (CI, tests, machines without one: identities come from env or file only).
 *
 * The CLI, the daemon and `run` all choose here, from the same variable; `service install` writes
 * it into the unit's environment so the login service uses the backend the user imported into.
 */
import { AppError, sanitizeForMessage } from '../../errors.js';
import { keytarKeychain } from './keytar.js';
import { napiKeychain } from './napi.js';
import type { Keychain } from './types.js';

export type { Keychain } from './types.js';
export { KEYCHAIN_SERVICE } from './types.js';

/** The real backends, default first. */
export const KEYCHAIN_STORES = ['napi-keyring', 'keytar'] as const;
export type KeychainStore = (typeof KEYCHAIN_STORES)[number];
/** Every value MCP_SECRETS_KEYCHAIN may take. */
export const KEYCHAIN_BACKENDS = [...KEYCHAIN_STORES, 'none'] as const;
export type KeychainBackend = (typeof KEYCHAIN_BACKENDS)[number];

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The backend MCP_SECRETS_KEYCHAIN selects (`napi-keyring` when unset or empty).
 *
 * @throws AppError E_USAGE when it names no backend.
 */
export function keychainBackend(env: Env): KeychainBackend {
  const chosen = env.MCP_SECRETS_KEYCHAIN ?? '';
  if (chosen === '') return 'napi-keyring';
  if ((KEYCHAIN_BACKENDS as readonly string[]).includes(chosen)) return chosen as KeychainBackend;
  throw new AppError('E_USAGE', `MCP_SECRETS_KEYCHAIN must be one of ${KEYCHAIN_BACKENDS.join(', ')}, not "${sanitizeForMessage(chosen, 40)}"`, {
    hint: 'unset MCP_SECRETS_KEYCHAIN to use the OS keychain (napi-keyring), or set it to none to use SOPS_AGE_KEY / SOPS_AGE_KEY_FILE only',
  });
}

/** One named backend; cheap: its module loads on first use. */
export function openKeychainStore(store: KeychainStore, env: Env): Keychain {
  return store === 'keytar' ? keytarKeychain({ env }) : napiKeychain({ env });
}

/**
 * The configured keychain, or null when disabled with `MCP_SECRETS_KEYCHAIN=none`. Cheap: the
 * backend's module loads on first use.
 *
 * @throws AppError E_USAGE when MCP_SECRETS_KEYCHAIN names no backend.
 */
export function openKeychain(options: { env: Env }): Keychain | null {
  const backend = keychainBackend(options.env);
  return backend === 'none' ? null : openKeychainStore(backend, options.env);
}
