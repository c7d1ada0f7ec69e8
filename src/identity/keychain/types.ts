/**
 * The OS keychain as this program sees it: a small map from recipient to secret key line.
 * One file per backend (keytar.ts, memory.ts); index.ts picks exactly one, never silently
 * falling back to a weaker store.
 */

/** Service name of every item we store (keytar "service"; Secret Service attribute `service`). */
export const KEYCHAIN_SERVICE = 'mcp-secrets';

export interface Keychain {
  /** Backend name for messages and `identity show`, e.g. `keytar`. */
  readonly name: string;
  /** The secret key line stored for this recipient, or null when there is none. */
  get(recipient: string): Promise<string | null>;
  /** Stores (or replaces) the secret key line under its recipient. */
  set(recipient: string, secretLine: string): Promise<void>;
  /** Removes the item; false when there was none. */
  delete(recipient: string): Promise<boolean>;
  /** Recipients of every stored identity, sorted. */
  listRecipients(): Promise<string[]>;
}
