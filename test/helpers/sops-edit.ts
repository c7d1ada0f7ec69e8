/**
 * Re-encrypting a test bundle the way a teammate edits one: `sops edit` keeps the data key, so a
 * machine that pinned it keeps publishing (DESIGN.md "Trust in the bundle"). Tests that change a
 * bundle use this; a test that means to forge one calls `encrypt` (a new data key) on purpose.
 */
import { encrypt, fromPlain, updateRecipients, type TreeMap } from '../../src/sops/index.js';

/** Remembers the last bundle it sealed and seals the next document with the same data key. */
export class BundleLineage {
  private last: Uint8Array | null = null;

  constructor(
    private readonly identity: string,
    private readonly recipients: () => readonly string[],
  ) {}

  /**
   * The first call encrypts anew (a new data key); later calls keep it, like `sops edit` (and,
   * given other `recipients`, like `sops updatekeys` then `sops edit`).
   */
  async seal(doc: Record<string, unknown>, recipients: readonly string[] = this.recipients()): Promise<Uint8Array> {
    const next = fromPlain(doc) as TreeMap;
    this.last =
      this.last === null
        ? await encrypt(next, { format: 'yaml', recipients })
        : await updateRecipients(this.last, {
            format: 'yaml',
            identities: [this.identity],
            recipients,
            edit: (tree) => {
              tree.clear();
              for (const [k, v] of next) tree.set(k, v);
            },
          });
    return this.last;
  }
}
