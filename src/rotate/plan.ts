/**
 * Key rotation, the parts that are pure: the new recipient set, the next secrets version, the
 * `.sops.yaml` rewrite (comments and other rules kept) and the evidence checklist.
 */
import { Document, isMap, isSeq, parseDocument, isScalar, type YAMLMap } from 'yaml';
import { AppError } from '../errors.js';

/**
 * The recipients after rotation: every current one, minus the ones being rotated out (the
 * recipients of the identities that opened the bundle, when a new key replaces them), minus
 * `--remove`, plus the new ones. Order: kept ones first, then new ones; no duplicates.
 */
export function nextRecipients(current: readonly string[], opts: { replace: readonly string[]; remove: readonly string[]; add: readonly string[] }): string[] {
  const drop = new Set([...opts.replace, ...opts.remove]);
  const out = current.filter((r) => !drop.has(r));
  for (const r of opts.add) if (!out.includes(r)) out.push(r);
  if (out.length === 0) {
    throw new AppError('E_USAGE', 'rotation would leave the bundle with no recipient', { hint: 'pass --recipient age1… or keep one of the current recipients' });
  }
  return out;
}

/**
 * The next MCP_SECRETS_VERSION: `YYYY.MM.N` (the team's scheme) counts up within a month and
 * restarts at 1 in a new month; a plain integer counts up; anything else becomes `YYYY.MM.1`.
 */
export function nextVersion(current: string | null, today: Date): string {
  const ym = `${today.getUTCFullYear()}.${String(today.getUTCMonth() + 1).padStart(2, '0')}`;
  const dated = current?.match(/^(\d{4})\.(\d{1,2})\.(\d+)$/);
  if (dated) {
    const sameMonth = Number(dated[1]) === today.getUTCFullYear() && Number(dated[2]) === today.getUTCMonth() + 1;
    return sameMonth ? `${dated[1]}.${dated[2]}.${Number(dated[3]) + 1}` : `${ym}.1`;
  }
  if (current && /^\d+$/.test(current)) return String(Number(current) + 1);
  return `${ym}.1`;
}

/**
 * Rewrites the `age:` of every creation rule that lists one of the old recipients (or whose
 * path_regex matches the bundle) to the new set, keeping comments, key order and other rules.
 */
export function rewriteSopsConfig(text: string, bundleRel: string, oldRecipients: readonly string[], newRecipients: readonly string[]): { text: string; changedRules: number } {
  const doc: Document = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new AppError('E_PARSE', `.sops.yaml: ${doc.errors[0]!.message.split('\n')[0]}`, { hint: 'fix the YAML syntax, then run rotate again' });
  }
  const rules = doc.get('creation_rules');
  let changedRules = 0;
  if (isSeq(rules)) {
    for (const rule of rules.items) {
      if (!isMap(rule)) continue;
      const map = rule as YAMLMap;
      const age = map.get('age');
      const regex = map.get('path_regex');
      const listsOld = typeof age === 'string' && age.split(/[\s,]+/).some((r) => oldRecipients.includes(r));
      const matches = typeof regex === 'string' && safeRegexTest(regex, bundleRel);
      if (!listsOld && !matches) continue;
      const node = map.get('age', true);
      const value = newRecipients.join(',');
      if (isScalar(node)) {
        node.value = value;
        // a folded block scalar would re-wrap oddly: plain is what sops writes too
        node.type = 'PLAIN';
      } else map.set('age', value);
      changedRules++;
    }
  }
  if (changedRules === 0) {
    throw new AppError('E_PARSE', `.sops.yaml has no creation rule for ${bundleRel} or its recipients`, {
      hint: 'add a creation rule with path_regex matching the bundle, then run rotate again',
    });
  }
  return { text: doc.toString(), changedRules };
}

function safeRegexTest(source: string, value: string): boolean {
  try {
    return new RegExp(source).test(value);
  } catch {
    return false;
  }
}

export interface EvidenceInput {
  ticket: string;
  date: string;
  bundleRel: string;
  oldRecipients: readonly string[];
  newRecipients: readonly string[];
  shaBefore: string;
  shaAfter: string;
  versionBefore: string | null;
  versionAfter: string;
  dataKeyRotated: boolean;
  storedWith: string;
  /** A new key was generated here (false with --recipient). */
  keyGenerated: boolean;
  /** --store-cmd succeeded: the tool itself put the key in the vault. */
  storedInVault: boolean;
  /** `.sops.yaml` was rewritten (false when the repo has none). */
  sopsConfigUpdated: boolean;
}

/**
 * The evidence file for the audit trail (docs/evidence/<ticket>/rotation-<date>.md). Public data
 * only. The checklist ticks only what this tool did; the rest is left for the people to tick.
 */
export function evidenceMarkdown(e: EvidenceInput): string {
  const list = (rs: readonly string[]): string => rs.map((r) => `  - \`${r}\``).join('\n');
  const box = (done: boolean): string => (done ? '[x]' : '[ ]');
  const keyLines = !e.keyGenerated
    ? '- [ ] The secret key of each given recipient is in the team vault (no key was generated here)'
    : e.storedInVault
      ? '- [x] New age key generated and stored in the team vault by `--store-cmd` (never in the repo)'
      : '- [x] New age key generated (never in the repo)\n- [ ] New age key stored in the team vault (the tool only handed it to the operator)';
  return `# Rotation of the age key — ${e.ticket}

- Date: ${e.date}
- Bundle: \`${e.bundleRel}\`
- Secrets version: \`${e.versionBefore ?? '(none)'}\` → \`${e.versionAfter}\`
- Data key: ${e.dataKeyRotated ? 'rotated (new data key, every value re-encrypted)' : 'kept (re-wrapped for the new recipients)'}
- Old recipients:
${list(e.oldRecipients)}
- New recipients:
${list(e.newRecipients)}
- Bundle sha256 before: \`${e.shaBefore}\`
- Bundle sha256 after: \`${e.shaAfter}\`
- New secret key: ${e.storedWith}

## Checklist
${keyLines}
- ${box(e.sopsConfigUpdated)} \`.sops.yaml\` recipients updated${e.sopsConfigUpdated ? '' : ' (the repo has no .sops.yaml)'}
- [x] Bundle re-encrypted for the new recipients, \`MCP_SECRETS_VERSION\` bumped
- [ ] Pull request opened with two reviews (security team approves \`.sops.yaml\` changes)
- [ ] Each developer imports the new key: \`op read 'op://MCP/SOPS Age key/private' | mcp-secrets identity import\`
- [ ] CI secret \`SOPS_AGE_KEY\` updated
- [ ] Old key revoked in the vault once every machine syncs with the new one
- [ ] Team notified
`;
}
