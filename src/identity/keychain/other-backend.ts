/**
 * Identities left in the backend that is NOT in use, and copying them over.
 *
 * On Linux an item written by keytar is invisible to @napi-rs/keyring and the reverse (different
 * Secret Service attributes), so switching backends would silently "lose" the identity; `identity
 * show` and `doctor` therefore look into the other backend and name the command that copies.
 * On macOS both libraries use the same Keychain item: a copy then writes the item onto itself.
 * Either way a copy is verified by reading it back through the target backend, and the source
 * is NEVER deleted: removing it is a separate, explicit `identity forget` by the user.
 */
import { AppError } from '../../errors.js';
import { recipientOf } from '../age-key.js';
import { keychainFailureCause } from './errors.js';
import { KEYCHAIN_STORES, type KeychainStore } from './index.js';
import type { Keychain } from './types.js';

/** The other real backend. */
export function otherKeychainStore(store: KeychainStore): KeychainStore {
  return KEYCHAIN_STORES.find((s) => s !== store) ?? store;
}

/** The command that copies identities from `from` into the backend in use. */
export function copyCommand(from: KeychainStore): string {
  return `mcp-secrets identity copy --from ${from}`;
}

export interface OtherBackendReport {
  readonly store: KeychainStore;
  /** Recipients stored only there (not in the backend in use); [] when none. */
  readonly onlyThere: string[];
  /** Why the other backend could not be looked into (`not installed`, `locked collection` …), or null. */
  readonly unreadable: string | null;
}

/**
 * What the other backend holds that the one in use does not. Never throws for a keychain
 * failure: an uninstalled keytar is the common case and is reported as `unreadable`.
 *
 * @param inUseRecipients what the backend in use holds (already listed by the caller).
 */
export async function lookIntoOtherBackend(other: Keychain, store: KeychainStore, inUseRecipients: readonly string[]): Promise<OtherBackendReport> {
  try {
    const there = await other.listRecipients();
    return { store, onlyThere: there.filter((r) => !inUseRecipients.includes(r)), unreadable: null };
  } catch (error) {
    const cause = keychainFailureCause(error);
    if (cause === null) throw error;
    return { store, onlyThere: [], unreadable: cause === 'unavailable' ? 'not installed' : cause };
  }
}

/** One line for people, or null when there is nothing to say. */
export function describeOtherBackend(report: OtherBackendReport): string | null {
  if (report.onlyThere.length === 0) return null;
  const n = report.onlyThere.length;
  return `${n === 1 ? '1 identity' : `${n} identities`} (${report.onlyThere.join(', ')}) stored by the ${report.store} backend ${n === 1 ? 'is' : 'are'} not visible to the backend in use; copy: \`${copyCommand(report.store)}\``;
}

export interface CopyResult {
  /** Written and read back identical. */
  readonly copied: string[];
  /** Already in the target with the same key. */
  readonly alreadyThere: string[];
}

/**
 * Copies every identity from `from` into `to`, checking each: the stored key must derive the
 * recipient it is filed under, and the target must give back exactly what was written. Nothing
 * is ever deleted, from either side.
 *
 * @throws AppError E_KEYCHAIN (either side failing, or a read-back that differs); E_NO_IDENTITY
 *   when `from` holds nothing; E_CONFLICT for an item that is no valid key for its recipient.
 */
export async function copyIdentities(from: Keychain, to: Keychain): Promise<CopyResult> {
  const recipients = await from.listRecipients();
  if (recipients.length === 0) {
    throw new AppError('E_NO_IDENTITY', `no identity in the ${from.name} keychain backend to copy`, { hint: '`mcp-secrets identity show` lists what the backend in use holds' });
  }
  const copied: string[] = [];
  const alreadyThere: string[] = [];
  for (const recipient of recipients) {
    const line = await from.get(recipient);
    if (line === null) continue; // removed between the listing and now
    let derived: string;
    try {
      derived = await recipientOf(line);
    } catch {
      throw new AppError('E_CONFLICT', `the ${from.name} keychain item ${recipient} does not hold a valid age secret key; nothing more was copied`, {
        hint: `remove it with \`MCP_SECRETS_KEYCHAIN=${from.name} mcp-secrets identity forget ${recipient}\` and import the key again`,
      });
    }
    if (derived !== recipient) {
      throw new AppError('E_CONFLICT', `the ${from.name} keychain item ${recipient} holds the key of ${derived}; nothing more was copied`, {
        hint: `re-import the key with \`mcp-secrets identity import\`, which files it under its own recipient`,
      });
    }
    if ((await to.get(recipient)) === line) {
      alreadyThere.push(recipient);
      continue;
    }
    await to.set(recipient, line);
    if ((await to.get(recipient)) !== line) {
      throw new AppError('E_KEYCHAIN', `copying ${recipient} into the ${to.name} keychain backend could not be verified (read back differs); the ${from.name} item was left in place`, {
        hint: 'run `mcp-secrets doctor`, then retry the copy',
      });
    }
    copied.push(recipient);
  }
  return { copied, alreadyThere };
}
