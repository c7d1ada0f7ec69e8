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

/**
 * CONFIG_WIDENED: the repo's `.mcp-secrets.yaml` now hands out more (a new output, a wider
 * profile) than this machine accepted, so nothing was published (DESIGN.md "Consumers").
 */
export function configWidenedNotice(file: string, widening: readonly string[], now: Date): StatusNotice {
  return {
    code: 'CONFIG_WIDENED',
    message: `${file} hands out more than this machine accepted (${widening.join('; ')}); the last good outputs stay. Check who changed it (\`git log -p\` on it); to accept it run \`mcp-secrets status --ack\``,
    since: now.toISOString(),
  };
}

/**
 * The error for outputs that had a second hard link. Publishing again gave the output a new file,
 * but the old one (same plaintext as before) is still reachable under the other name: say which
 * output, which inode, and how to find and remove the other name.
 */
export function linkedCopiesMessage(copies: readonly { path: string; inode: number; otherNames: number }[]): string {
  return copies
    .map(
      (c) =>
        `${c.path} had a second hard link: it was published again as a new file, but an earlier copy of it (inode ${c.inode}) is still linked under ${c.otherNames === 1 ? 'another name' : `${c.otherNames} other names`} and holds its plaintext; ` +
        `find it with \`find "$(df --output=target ${shellQuote(c.path)} | tail -1)" -xdev -inum ${c.inode}\`, delete it (and check why it was linked); the daemon notices and clears this`,
    )
    .join('\n');
}

/** Single-quoted for a POSIX shell, so a path with spaces or quotes can be pasted as is. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
