/**
 * An in-memory keychain for unit tests: same contract as the real one, and it can be told to
 * fail the way a real keychain does (a locked collection, no D-Bus …).
 */
import { keychainError, type KeychainFailureCause } from './errors.js';
import type { Keychain } from './types.js';

export type KeychainOperation = 'get' | 'set' | 'delete' | 'list';

export class MemoryKeychain implements Keychain {
  readonly name = 'memory';
  readonly #items = new Map<string, string>();
  #failure: { cause: KeychainFailureCause; operations: ReadonlySet<KeychainOperation> } | null = null;

  constructor(initial: Readonly<Record<string, string>> = {}) {
    for (const [recipient, line] of Object.entries(initial)) this.#items.set(recipient, line);
  }

  /** From now on, the given operations (default: all) throw E_KEYCHAIN with this cause; null heals. */
  failWith(cause: KeychainFailureCause | null, operations: readonly KeychainOperation[] = ['get', 'set', 'delete', 'list']): void {
    this.#failure = cause === null ? null : { cause, operations: new Set(operations) };
  }

  /** A copy of what is stored, for assertions. */
  snapshot(): Map<string, string> {
    return new Map(this.#items);
  }

  async get(recipient: string): Promise<string | null> {
    this.#maybeFail('get', `cannot read ${recipient} from the OS keychain (memory)`);
    return this.#items.get(recipient) ?? null;
  }

  async set(recipient: string, secretLine: string): Promise<void> {
    this.#maybeFail('set', `cannot store ${recipient} in the OS keychain (memory)`);
    this.#items.set(recipient, secretLine);
  }

  async delete(recipient: string): Promise<boolean> {
    this.#maybeFail('delete', `cannot remove ${recipient} from the OS keychain (memory)`);
    return this.#items.delete(recipient);
  }

  async listRecipients(): Promise<string[]> {
    this.#maybeFail('list', 'cannot list identities in the OS keychain (memory)');
    return [...this.#items.keys()].sort();
  }

  #maybeFail(operation: KeychainOperation, what: string): void {
    if (this.#failure?.operations.has(operation)) throw keychainError(this.#failure.cause, what);
  }
}
