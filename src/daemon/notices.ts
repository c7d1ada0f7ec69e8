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

/**
 * DATA_KEY_CHANGED: the bundle checked out was encrypted with a data key this machine has not
 * accepted, so it was not published (DESIGN.md "Trust in the bundle").
 */
export function dataKeyNotice(bundle: string, now: Date): StatusNotice {
  return {
    code: 'DATA_KEY_CHANGED',
    message: `${bundle} has a data key this machine has not accepted (a bundle made anew, not edited with sops); the last good outputs stay. Check who changed it (\`git log -p\` on it); to accept it run \`mcp-secrets status --ack\``,
    since: now.toISOString(),
  };
}
