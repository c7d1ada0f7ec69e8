/**
 * Picks the keychain backend: exactly one, chosen explicitly, never a silent fallback to a weaker
 * store. `MCP_SECRETS_KEYCHAIN`: unset or `keytar` → keytar (the OS keychain); `none` → no
 * keychain at all (CI, tests, machines without one: identities come from env or file only).
 */
import { AppError, sanitizeForMessage } from '../../errors.js';
import { keytarKeychain } from './keytar.js';
import type { Keychain } from './types.js';

export type { Keychain } from './types.js';
export { KEYCHAIN_SERVICE } from './types.js';

export const KEYCHAIN_BACKENDS = ['keytar', 'none'] as const;

/**
 * The configured keychain, or null when disabled with `MCP_SECRETS_KEYCHAIN=none`. Cheap: keytar
 * itself loads on first use.
 *
 * @throws AppError E_USAGE when MCP_SECRETS_KEYCHAIN names no backend.
 */
export function openKeychain(options: { env: Readonly<Record<string, string | undefined>> }): Keychain | null {
  const chosen = options.env.MCP_SECRETS_KEYCHAIN ?? '';
  if (chosen === 'none') return null;
  if (chosen === '' || chosen === 'keytar') return keytarKeychain({ env: options.env });
  throw new AppError('E_USAGE', `MCP_SECRETS_KEYCHAIN must be one of ${KEYCHAIN_BACKENDS.join(', ')}, not "${sanitizeForMessage(chosen, 40)}"`, {
    hint: 'unset MCP_SECRETS_KEYCHAIN to use the OS keychain, or set it to none to use SOPS_AGE_KEY / SOPS_AGE_KEY_FILE only',
  });
}
