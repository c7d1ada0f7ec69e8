/** Notices: what a person should look at even while the outputs are fresh. */
import type { StatusNotice } from '../ipc/status.js';

/**
 * RECIPIENTS_CHANGED when a set of age recipients (the bundle's, or `.sops.yaml`'s) differs from the one seen before. Anyone
 * holding the public keys can produce a bundle that verifies, so a new recipient deserves a look.
 * Returns null the first time (nothing to compare with) and when the sets are equal.
 */
export function recipientsNotice(known: readonly string[] | null, current: readonly string[], now: Date, subject = "the bundle's age recipients"): StatusNotice | null {
  if (known === null) return null;
  const before = new Set(known);
  const after = new Set(current);
  const added = [...after].filter((r) => !before.has(r));
  const removed = [...before].filter((r) => !after.has(r));
  if (added.length === 0 && removed.length === 0) return null;
  const parts = [added.length ? `added ${added.join(', ')}` : '', removed.length ? `removed ${removed.join(', ')}` : ''].filter(Boolean);
  return {
    code: 'RECIPIENTS_CHANGED',
    message: `${subject} changed (${parts.join('; ')}); check the commit that did it, then run \`mcp-secrets status --ack\``,
    since: now.toISOString(),
  };
}
