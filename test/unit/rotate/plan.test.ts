import test from 'ava';
import { parse } from 'yaml';
import { evidenceMarkdown, nextRecipients, nextVersion, rewriteSopsConfig } from '../../../src/rotate/plan.js';
import { recipientsFromSopsConfig } from '../../../src/identity/recipients.js';

test('a generated key replaces the key that opened the bundle and keeps the other recipients', (t) => {
  t.deepEqual(nextRecipients(['age1old', 'age1breakglass'], { replace: ['age1old'], remove: [], add: ['age1new'] }), ['age1breakglass', 'age1new']);
  t.deepEqual(nextRecipients(['age1a', 'age1b'], { replace: [], remove: ['age1b'], add: ['age1a', 'age1c'] }), ['age1a', 'age1c']);
  t.throws(() => nextRecipients(['age1a'], { replace: [], remove: ['age1a'], add: [] }), { message: /no recipient/ });
});

test('counts the secrets version up within a month and restarts it in a new month', (t) => {
  const nov = new Date('2026-11-28T10:00:00Z');
  t.is(nextVersion('2026.11.3', nov), '2026.11.4');
  t.is(nextVersion('2026.10.7', nov), '2026.11.1');
  t.is(nextVersion('41', nov), '42');
  t.is(nextVersion(null, nov), '2026.11.1');
  t.is(nextVersion('beta', nov), '2026.11.1');
});

const SOPS_YAML = `# team policy: changes need the security team
creation_rules:
  # the MCP bundle
  - path_regex: config/secrets\\.enc\\.yaml$
    age: >-
      age1old
  # something else, untouched
  - path_regex: other/.*\\.yaml$
    pgp: ABCDEF
`;

test('rewrites only the matching rule in .sops.yaml and keeps comments and other rules', (t) => {
  const { text, changedRules } = rewriteSopsConfig(SOPS_YAML, 'config/secrets.enc.yaml', ['age1old'], ['age1new', 'age1other']);
  t.is(changedRules, 1);
  t.true(text.includes('# team policy: changes need the security team'));
  t.true(text.includes('# something else, untouched'));
  const parsed = parse(text) as { creation_rules: Record<string, string>[] };
  t.is(parsed.creation_rules[0]!.age, 'age1new,age1other');
  t.is(parsed.creation_rules[1]!.pgp, 'ABCDEF');
  t.deepEqual(recipientsFromSopsConfig(text), ['age1new', 'age1other']);
});

test('refuses a .sops.yaml with no rule for the bundle, naming the remedy', (t) => {
  const error = t.throws(() => rewriteSopsConfig('creation_rules:\n  - path_regex: x$\n    pgp: A\n', 'config/secrets.enc.yaml', ['age1a'], ['age1b']));
  t.regex(error!.message, /no creation rule/);
});

test('the evidence file names recipients and hashes, with the checklist still to do', (t) => {
  const md = evidenceMarkdown({
    ticket: 'TASK-OPS-301', date: '2026-11-28', bundleRel: 'config/secrets.enc.yaml', oldRecipients: ['age1old'], newRecipients: ['age1new'],
    shaBefore: 'a'.repeat(64), shaAfter: 'b'.repeat(64), versionBefore: '2026.11.1', versionAfter: '2026.11.2', dataKeyRotated: false, storedWith: 'printed once',
    keyGenerated: true, storedInVault: false, sopsConfigUpdated: true,
  });
  t.true(md.includes('`age1old`') && md.includes('`age1new`'));
  t.true(md.includes('- [ ] Pull request opened with two reviews'));
  t.true(md.includes('- [ ] Old key revoked in the vault'));
});

const EVIDENCE = {
  ticket: 'TASK-OPS-301', date: '2026-11-28', bundleRel: 'config/secrets.enc.yaml', oldRecipients: ['age1old'], newRecipients: ['age1new'],
  shaBefore: 'a'.repeat(64), shaAfter: 'b'.repeat(64), versionBefore: '2026.11.1', versionAfter: '2026.11.2', dataKeyRotated: false, storedWith: 'x',
};

test('the evidence ticks "stored in the team vault" only when --store-cmd stored the key', (t) => {
  const printed = evidenceMarkdown({ ...EVIDENCE, keyGenerated: true, storedInVault: false, sopsConfigUpdated: true });
  t.false(/\[x\][^\n]*stored in the team vault/.test(printed), printed);
  t.true(printed.includes('- [ ] New age key stored in the team vault'));
  t.true(printed.includes('- [x] New age key generated'));
  const stored = evidenceMarkdown({ ...EVIDENCE, keyGenerated: true, storedInVault: true, sopsConfigUpdated: true });
  t.regex(stored, /- \[x\] New age key generated and stored in the team vault by `--store-cmd`/);
  const given = evidenceMarkdown({ ...EVIDENCE, keyGenerated: false, storedInVault: false, sopsConfigUpdated: true });
  t.false(/\[x\][^\n]*(vault|generated)/.test(given), given);
});

test('the evidence ticks ".sops.yaml recipients updated" only when the tool rewrote it', (t) => {
  t.true(evidenceMarkdown({ ...EVIDENCE, keyGenerated: true, storedInVault: false, sopsConfigUpdated: true }).includes('- [x] `.sops.yaml` recipients updated'));
  t.true(evidenceMarkdown({ ...EVIDENCE, keyGenerated: true, storedInVault: false, sopsConfigUpdated: false }).includes('- [ ] `.sops.yaml` recipients updated'));
});
