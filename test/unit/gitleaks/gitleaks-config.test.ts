/**
 * config/gitleaks.toml, tested without gitleaks: every custom rule against realistic fake keys
 * and near misses, every allow-list against the SOPS output and paths it is meant to excuse and
 * the look-alikes it must not, through a model of gitleaks' detect step (test/helpers/gitleaks-model.ts).
 * A rule or allow-list without both kinds of example fails the suite.
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateHybridIdentity, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { FakeKeys, ALNUM, BECH32, HEX, URLSAFE } from '../../helpers/fake-keys.js';
import { allowlistAllows, readGitleaksConfig, scanFile, type FindingTarget, type GitleaksConfig } from '../../helpers/gitleaks-model.js';
import { goRegexpToJs, UnsupportedGoRegexpError } from '../../helpers/go-regexp.js';
import { parseTomlSubset, TomlSubsetError } from '../../helpers/toml-subset.js';

/** dist/test/unit/gitleaks/ → the repository root. */
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CONFIG_FILE = path.join(ROOT, 'config', 'gitleaks.toml');
const SOPS_FIXTURES = path.join(ROOT, 'test', 'fixtures', 'sops-real');

const config: GitleaksConfig = readGitleaksConfig(readFileSync(CONFIG_FILE, 'utf8'));
const keys = new FakeKeys(0x6d637073);

/** A plaintext file outside every allow-listed path. */
const PLAIN_PATH = 'app/settings.env';

interface Positive {
  note: string;
  text: string;
  secret: string;
}
interface Negative {
  note: string;
  text: string;
}
interface RuleExamples {
  positives: Positive[];
  negatives: Negative[];
}

function envLine(name: string, value: string): string {
  return `${name}=${value}\n`;
}

const gemini = keys.gemini();
const openaiMarked = keys.openaiLegacy(true);
const openaiPlain = keys.openaiLegacy(false);
const openaiProject = keys.openaiScoped('proj');
const openaiService = keys.openaiScoped('svcacct');
const openaiAdmin = keys.openaiScoped('admin');
const openaiProjectShort = keys.openaiScopedShort('proj');
const openaiNone = `sk-None-${keys.chars(URLSAFE, 20)}T3BlbkFJ${keys.chars(URLSAFE, 20)}`;
const anthropic108 = keys.anthropic(93);
const anthropic95 = keys.anthropic(80);
const anthropicAdmin = keys.anthropicAdmin(93);
const anthropicAdminShort = keys.anthropicAdmin(78);
const zhipu = keys.zhipu();
const ageSecret = keys.ageSecret();
const ageSecretPq = keys.ageSecret(true);
const ageRecipient = keys.ageRecipient();
const encValue = keys.sopsValue();

const RULE_EXAMPLES: Record<string, RuleExamples> = {
  'mcp-gemini-api-key': {
    positives: [
      { note: 'a .env line', text: envLine('GEMINI_API_KEY', gemini), secret: gemini },
      { note: 'a JSON value', text: `{"google": {"api_key": "${gemini}"}}`, secret: gemini },
      { note: 'the last characters of the file', text: `key: ${gemini}`, secret: gemini },
    ],
    negatives: [
      { note: 'one character short', text: envLine('GEMINI_API_KEY', `AIza${keys.chars(URLSAFE, 34)}`) },
      { note: 'one character long', text: envLine('GEMINI_API_KEY', `AIza${keys.chars(ALNUM, 36)}`) },
      { note: 'a wrong prefix', text: envLine('GEMINI_API_KEY', `AIzb${keys.chars(URLSAFE, 35)}`) },
      { note: 'the prefix inside a longer word', text: envLine('X', `xAIza${keys.chars(URLSAFE, 35)}`) },
      { note: 'a low-entropy placeholder', text: envLine('GEMINI_API_KEY', `AIza${'A'.repeat(35)}`) },
      { note: 'a SOPS value', text: `gemini_api_key: ${encValue}\n` },
    ],
  },
  'mcp-openai-api-key': {
    positives: [
      { note: 'a legacy key with the T3BlbkFJ marker', text: envLine('OPENAI_API_KEY', openaiMarked), secret: openaiMarked },
      { note: 'a legacy 48-character key without the marker', text: envLine('OPENAI_API_KEY', openaiPlain), secret: openaiPlain },
      { note: 'a project key', text: `openai:\n  api_key: "${openaiProject}"\n`, secret: openaiProject },
      { note: 'a service-account key', text: envLine('CODEX_API_KEY', openaiService), secret: openaiService },
      { note: 'an admin key', text: envLine('OPENAI_ADMIN_KEY', openaiAdmin), secret: openaiAdmin },
      { note: 'an older short project key', text: envLine('OPENAI_API_KEY', openaiProjectShort), secret: openaiProjectShort },
      { note: 'any other sk- key carrying the marker', text: envLine('OPENAI_API_KEY', openaiNone), secret: openaiNone },
    ],
    negatives: [
      { note: 'a legacy key one character short', text: envLine('OPENAI_API_KEY', `sk-${keys.chars(ALNUM, 47)}`) },
      { note: 'a legacy key one character long', text: envLine('OPENAI_API_KEY', `sk-${keys.chars(ALNUM, 49)}`) },
      { note: 'a project key far too short', text: envLine('OPENAI_API_KEY', `sk-proj-${keys.chars(ALNUM, 39)}`) },
      { note: 'sk- at the end of a word', text: `risk-${keys.chars(ALNUM, 48)}\n` },
      { note: 'a Stripe-style sk_ key', text: envLine('STRIPE', `sk_live_${keys.chars(ALNUM, 48)}`) },
      { note: 'an Anthropic key', text: envLine('ANTHROPIC_API_KEY', anthropic108) },
      { note: 'a low-entropy placeholder', text: envLine('OPENAI_API_KEY', `sk-${'a'.repeat(48)}`) },
      { note: 'a SOPS value', text: `openai_api_key: ${encValue}\n` },
    ],
  },
  'mcp-anthropic-api-key': {
    positives: [
      { note: 'a 108-character key', text: envLine('ANTHROPIC_API_KEY', anthropic108), secret: anthropic108 },
      { note: 'a 95-character key', text: `anthropic:\n  api_key: ${anthropic95}\n`, secret: anthropic95 },
    ],
    negatives: [
      { note: 'a key not ending in AA', text: envLine('ANTHROPIC_API_KEY', `${anthropic108.slice(0, -2)}AB`) },
      { note: 'a body one character short', text: envLine('ANTHROPIC_API_KEY', `sk-ant-api03-${keys.chars(URLSAFE, 79)}AA`) },
      { note: 'a body one character long', text: envLine('ANTHROPIC_API_KEY', `sk-ant-api03-${keys.chars(URLSAFE, 94)}AA`) },
      { note: 'another key version', text: envLine('ANTHROPIC_API_KEY', `sk-ant-api02-${keys.chars(URLSAFE, 93)}AA`) },
      { note: 'an admin key', text: envLine('ANTHROPIC_ADMIN_KEY', anthropicAdmin) },
      { note: 'a SOPS value', text: `anthropic_api_key: ${encValue}\n` },
    ],
  },
  'mcp-anthropic-admin-key': {
    positives: [
      { note: 'a 110-character admin key', text: envLine('ANTHROPIC_ADMIN_KEY', anthropicAdmin), secret: anthropicAdmin },
      { note: 'a short admin key', text: envLine('ANTHROPIC_ADMIN_KEY', anthropicAdminShort), secret: anthropicAdminShort },
    ],
    negatives: [
      { note: 'a body one character short', text: envLine('ANTHROPIC_ADMIN_KEY', `sk-ant-admin01-${keys.chars(URLSAFE, 77)}AA`) },
      { note: 'another admin key version', text: envLine('ANTHROPIC_ADMIN_KEY', `sk-ant-admin02-${keys.chars(URLSAFE, 93)}AA`) },
      { note: 'a regular API key', text: envLine('ANTHROPIC_API_KEY', anthropic108) },
    ],
  },
  'mcp-zhipu-api-key': {
    positives: [
      { note: 'a ZHIPU_ .env line', text: envLine('ZHIPU_API_KEY', zhipu), secret: zhipu },
      { note: 'a GLM_ .env line, quoted', text: envLine('GLM_API_KEY', `"${zhipu}"`), secret: zhipu },
      { note: 'a nested bigmodel value', text: `bigmodel:\n  api_key: ${zhipu}\n`, secret: zhipu },
    ],
    negatives: [
      { note: 'the right shape in a file that never names the provider', text: envLine('SOME_TOKEN', zhipu) },
      { note: 'a 31 hex-digit id', text: envLine('ZHIPU_API_KEY', `${keys.chars(HEX, 31)}.${keys.chars(ALNUM, 16)}`) },
      { note: 'a 33 hex-digit id', text: envLine('ZHIPU_API_KEY', `${keys.chars(HEX, 33)}.${keys.chars(ALNUM, 16)}`) },
      { note: 'a 15-character secret', text: envLine('ZHIPU_API_KEY', `${keys.chars(HEX, 32)}.${keys.chars(ALNUM, 15)}`) },
      { note: 'a 17-character secret', text: envLine('ZHIPU_API_KEY', `${keys.chars(HEX, 32)}.${keys.chars(ALNUM, 17)}`) },
      { note: 'a non-hex id', text: envLine('ZHIPU_API_KEY', `g${keys.chars(HEX, 31)}.${keys.chars(ALNUM, 16)}`) },
      { note: 'a file name after a hash', text: `glm weights sha: ${keys.chars(HEX, 32)}.safetensors\n` },
      { note: 'a low-entropy placeholder', text: envLine('ZHIPU_API_KEY', `${'0'.repeat(32)}.${'a'.repeat(16)}`) },
    ],
  },
  'mcp-age-secret-key': {
    positives: [
      { note: 'an identity line as age-keygen writes it', text: `# public key: ${ageRecipient}\n${ageSecret}\n`, secret: ageSecret },
      { note: 'a post-quantum identity', text: `${ageSecretPq}\n`, secret: ageSecretPq },
      { note: 'an identity in an environment variable', text: envLine('SOPS_AGE_KEY', ageSecret), secret: ageSecret },
    ],
    negatives: [
      { note: 'a lower-case key', text: `${ageSecret.toLowerCase()}\n` },
      { note: 'a public recipient', text: `# public key: ${ageRecipient}\n` },
      { note: 'one character short', text: `AGE-SECRET-KEY-1${keys.chars(BECH32, 57).toUpperCase()}\n` },
      { note: 'one character long', text: `AGE-SECRET-KEY-1${keys.chars(BECH32, 59).toUpperCase()}\n` },
      { note: 'a character outside bech32 (B)', text: `AGE-SECRET-KEY-1B${keys.chars(BECH32, 57).toUpperCase()}\n` },
      { note: 'a wrong separator digit', text: `AGE-SECRET-KEY-2${keys.chars(BECH32, 58).toUpperCase()}\n` },
      { note: 'a redacted key in a log line', text: 'identity AGE-SECRET-KEY-1[redacted] rejected\n' },
    ],
  },
};

function target(partial: Partial<FindingTarget> & { path: string }): FindingTarget {
  const line = partial.line ?? partial.secret ?? '';
  const secret = partial.secret ?? line.trim();
  return { path: partial.path, line, secret, match: partial.match ?? secret };
}

interface AllowlistExamples {
  allowed: { note: string; finding: FindingTarget }[];
  notAllowed: { note: string; finding: FindingTarget }[];
}

const BUNDLE = 'config/secrets.enc.yaml';
const armor = keys.armorBody();
const oneLineArmor = `-----BEGIN AGE ENCRYPTED FILE-----\\n${armor.join('\\n')}\\n-----END AGE ENCRYPTED FILE-----\\n`;
const docsFake = ['sk-proj-EXAMPLE-', '0123456789', 'abcdefghijklmnopqrstuvwxyz'].join('');

const ALLOWLIST_EXAMPLES: Record<string, AllowlistExamples> = {
  'SOPS encrypted values (a line whose only value is ENC[AES256_GCM,…])': {
    allowed: [
      { note: 'YAML', finding: target({ path: BUNDLE, line: `    api_key: ${encValue}` }) },
      { note: 'a YAML key with a space', finding: target({ path: BUNDLE, line: `my key: ${encValue}` }) },
      { note: 'a YAML list item', finding: target({ path: BUNDLE, line: `    - ${encValue}` }) },
      { note: 'an encrypted comment', finding: target({ path: BUNDLE, line: `    #${keys.sopsValue(30, 'comment')}` }) },
      { note: 'an encrypted INI comment', finding: target({ path: 'config/secrets.enc.ini', line: `; ${keys.sopsValue(30, 'comment')}` }) },
      { note: 'JSON', finding: target({ path: 'config/secrets.enc.json', line: `        "api_key": "${encValue}",` }) },
      { note: 'dotenv', finding: target({ path: 'config/secrets.enc.env', line: `OPENAI_API_KEY=${encValue}` }) },
      { note: 'INI', finding: target({ path: 'config/secrets.enc.ini', line: `api_key = ${encValue}` }) },
      { note: 'the sops MAC', finding: target({ path: BUNDLE, line: `    mac: ${keys.sopsValue(32)}` }) },
      { note: 'a Windows line ending', finding: target({ path: BUNDLE, line: `token: ${encValue}\r` }) },
    ],
    notAllowed: [
      { note: 'a plaintext key in a trailing comment', finding: target({ path: BUNDLE, line: `api_key: ${encValue} # ${openaiMarked}`, secret: openaiMarked }) },
      { note: 'a plaintext value', finding: target({ path: BUNDLE, line: `api_key: ${openaiMarked}`, secret: openaiMarked }) },
      { note: 'another cipher name', finding: target({ path: BUNDLE, line: `api_key: ${encValue.replace('AES256_GCM', 'AES128_GCM')}` }) },
      { note: 'a value next to the ciphertext', finding: target({ path: BUNDLE, line: `a: ${encValue}, b: ${gemini}`, secret: gemini }) },
    ],
  },
  'SOPS metadata: age-wrapped data keys (armored age files) inside SOPS bundles': {
    allowed: [
      { note: 'the BEGIN line', finding: target({ path: BUNDLE, line: '            -----BEGIN AGE ENCRYPTED FILE-----' }) },
      { note: 'a base64 body line', finding: target({ path: BUNDLE, line: `            ${armor[0]}` }) },
      { note: 'the last body line', finding: target({ path: BUNDLE, line: `            ${armor.at(-1)}` }) },
      { note: 'the END line', finding: target({ path: BUNDLE, line: '            -----END AGE ENCRYPTED FILE-----' }) },
      { note: 'a JSON one-line armor', finding: target({ path: 'config/secrets.enc.json', line: `\t\t\t\t"enc": "${oneLineArmor}"` }) },
      { note: 'a dotenv one-line armor', finding: target({ path: 'config/secrets.enc.env', line: `sops_age__list_0__map_enc=${oneLineArmor}` }) },
      { note: 'an INI one-line armor', finding: target({ path: 'config/secrets.enc.ini', line: `age__list_0__map_enc       = ${oneLineArmor}` }) },
      { note: 'a *.sops.yaml bundle in a subfolder', finding: target({ path: 'deploy/prod/app.sops.yaml', line: `  ${armor[1]}` }) },
    ],
    notAllowed: [
      { note: 'a base64 line outside a SOPS bundle', finding: target({ path: 'src/app.ts', line: `            ${armor[0]}` }) },
      { note: 'a bundle not named *.enc.* or *.sops.*', finding: target({ path: 'config/secrets.yaml', line: `            ${armor[0]}` }) },
      { note: 'a key and a value on a body-like line', finding: target({ path: BUNDLE, line: `token: ${armor[0]}` }) },
      { note: 'a key after the BEGIN marker', finding: target({ path: BUNDLE, line: `-----BEGIN AGE ENCRYPTED FILE----- ${anthropic108}`, secret: anthropic108 }) },
      { note: 'a plaintext key line in a bundle', finding: target({ path: BUNDLE, line: `  api_key: ${anthropic108}`, secret: anthropic108 }) },
    ],
  },
  'age public recipients (age1…, age1pq1…)': {
    allowed: [
      { note: 'an X25519 recipient', finding: target({ path: '.sops.yaml', line: `      - ${ageRecipient}`, secret: ageRecipient }) },
    ],
    notAllowed: [
      { note: 'a secret key', finding: target({ path: 'keys.txt', secret: ageSecret }) },
      { note: 'a lower-cased secret key', finding: target({ path: 'keys.txt', secret: ageSecret.toLowerCase() }) },
      { note: 'a truncated recipient', finding: target({ path: '.sops.yaml', secret: ageRecipient.slice(0, 30) }) },
      { note: 'a recipient glued to a key', finding: target({ path: '.sops.yaml', secret: `${ageRecipient}:${gemini}` }) },
      { note: 'a character outside bech32', finding: target({ path: '.sops.yaml', secret: `${ageRecipient.slice(0, -1)}b` }) },
    ],
  },
  'test fixtures and benchmark data': {
    allowed: [
      { note: 'test/fixtures', finding: target({ path: 'test/fixtures/sops/keys.txt', secret: ageSecret }) },
      { note: 'test/fixtures from a ./ source', finding: target({ path: './test/fixtures/age/identity.txt', secret: ageSecret }) },
      { note: 'the shared fixtures', finding: target({ path: '../shared/fixtures/sops-real/yaml-sops-example-3.7.1/keys.txt', secret: ageSecret }) },
      { note: 'bench data', finding: target({ path: 'bench/data/bundle.enc.yaml', secret: gemini }) },
    ],
    notAllowed: [
      { note: 'a unit test', finding: target({ path: 'test/unit/keys.txt', secret: ageSecret }) },
      { note: 'a look-alike folder', finding: target({ path: 'test/fixtures-old/keys.txt', secret: ageSecret }) },
      { note: 'a folder ending in bench', finding: target({ path: 'workbench/keys.txt', secret: ageSecret }) },
      { note: 'the bundle', finding: target({ path: BUNDLE, secret: gemini }) },
    ],
  },
  'documentation examples: fake keys containing EXAMPLE, in docs/*.md': {
    allowed: [
      { note: 'an EXAMPLE key in a doc', finding: target({ path: 'docs/runbook.pt-BR.md', secret: docsFake }) },
      { note: 'an EXAMPLE key in a nested doc', finding: target({ path: 'docs/evidence/TASK-OPS-301/rotation-2026-01-01.md', secret: docsFake }) },
    ],
    notAllowed: [
      { note: 'a realistic key in a doc', finding: target({ path: 'docs/ci.md', secret: openaiProject }) },
      { note: 'an EXAMPLE key in source code', finding: target({ path: 'src/cli/demo.ts', secret: docsFake }) },
      { note: 'an EXAMPLE key in a doc that is not Markdown', finding: target({ path: 'docs/notes.txt', secret: docsFake }) },
      { note: 'an EXAMPLE variable name next to a real key', finding: target({ path: 'docs/ci.md', line: `EXAMPLE_KEY=${gemini}`, secret: gemini }) },
      { note: 'a lower-case example', finding: target({ path: 'docs/ci.md', secret: docsFake.replace('EXAMPLE', 'example') }) },
    ],
  },
};

// ---------------------------------------------------------------------------------------------

test('extends the default rules and uses only the gitleaks v8 schema', (t) => {
  t.true(config.useDefault, '[extend] useDefault = true keeps the upstream rules');
  t.true(config.title.length > 0);
  t.true(config.rules.length >= 6);
  for (const rule of config.rules) {
    t.true(rule.id.startsWith('mcp-'), `${rule.id}: custom ids never shadow an upstream rule`);
    t.true(rule.description.length > 0, `${rule.id}: description`);
    t.true(rule.keywords.length > 0, `${rule.id}: keywords`);
    t.is(rule.secretGroup, 1, `${rule.id}: the key itself is the secret`);
    t.true(rule.entropy >= 0 && rule.entropy < 6, `${rule.id}: entropy`);
  }
  const descriptions = config.allowlists.map((a) => a.description);
  t.is(new Set(descriptions).size, descriptions.length, 'allow-list descriptions are unique (they name the examples)');
});

test('every custom rule has positive and negative examples, and every example names a rule', (t) => {
  const ids = config.rules.map((r) => r.id).sort();
  t.deepEqual(Object.keys(RULE_EXAMPLES).sort(), ids);
  for (const id of ids) {
    t.true((RULE_EXAMPLES[id]?.positives.length ?? 0) > 0, `${id} has no positive example`);
    t.true((RULE_EXAMPLES[id]?.negatives.length ?? 0) > 0, `${id} has no negative example`);
  }
});

test('every allow-list has examples it excuses and look-alikes it does not', (t) => {
  const descriptions = config.allowlists.map((a) => a.description).sort();
  t.deepEqual(Object.keys(ALLOWLIST_EXAMPLES).sort(), descriptions);
  for (const d of descriptions) {
    t.true((ALLOWLIST_EXAMPLES[d]?.allowed.length ?? 0) > 0, `${d} has no allowed example`);
    t.true((ALLOWLIST_EXAMPLES[d]?.notAllowed.length ?? 0) > 0, `${d} has no counter-example`);
  }
});

for (const [id, examples] of Object.entries(RULE_EXAMPLES)) {
  test(`${id} reports each realistic fake key`, (t) => {
    for (const example of examples.positives) {
      const findings = scanFile(config, { path: PLAIN_PATH, content: example.text }).filter((f) => f.ruleId === id);
      t.is(findings.length, 1, `${example.note}: one finding`);
      t.is(findings[0]?.secret, example.secret, `${example.note}: the key is the secret`);
      t.is(findings[0]?.allowedBy ?? null, null, `${example.note}: not excused`);
    }
  });

  test(`${id} ignores near misses`, (t) => {
    for (const example of examples.negatives) {
      const findings = scanFile(config, { path: PLAIN_PATH, content: example.text }).filter((f) => f.ruleId === id);
      t.deepEqual(findings, [], example.note);
    }
  });
}

for (const [description, examples] of Object.entries(ALLOWLIST_EXAMPLES)) {
  test(`allow-list "${description}" excuses what it is meant to, and nothing else`, (t) => {
    const allowlist = config.allowlists.find((a) => a.description === description);
    if (!allowlist) return t.fail(`no allow-list "${description}" in the config`);
    for (const { note, finding } of examples.allowed) t.true(allowlistAllows(allowlist, finding), `should excuse: ${note}`);
    for (const { note, finding } of examples.notAllowed) t.false(allowlistAllows(allowlist, finding), `should not excuse: ${note}`);
  });
}

test('real age identities from age-encryption are reported, and their recipients excused', async (t) => {
  const recipientList = config.allowlists.find((a) => a.description.startsWith('age public recipients'));
  for (const identity of [await generateX25519Identity(), await generateHybridIdentity()]) {
    const recipient = await identityToRecipient(identity);
    const findings = scanFile(config, { path: 'mcp-age-key.txt', content: `# public key: ${recipient}\n${identity}\n` });
    t.deepEqual(
      findings.map((f) => [f.ruleId, f.secret === identity, f.allowedBy]),
      [['mcp-age-secret-key', true, null]],
    );
    t.true(recipientList !== undefined && allowlistAllows(recipientList, target({ path: '.sops.yaml', secret: recipient })));
  }
});

test('a SOPS bundle is quiet, but a value left in plaintext inside it is still reported', (t) => {
  const bundle = [
    `MCP_SECRETS_VERSION: ${keys.sopsValue(8)}`,
    'openai:',
    `    api_key: ${keys.sopsValue(164)}`,
    `    leaked_key: ${openaiProject}`,
    'sops:',
    '    age:',
    `        - recipient: ${ageRecipient}`,
    '          enc: |',
    '            -----BEGIN AGE ENCRYPTED FILE-----',
    ...armor.map((l) => `            ${l}`),
    '            -----END AGE ENCRYPTED FILE-----',
    `    mac: ${keys.sopsValue(32)}`,
    '',
  ].join('\n');
  const findings = scanFile(config, { path: BUNDLE, content: bundle });
  t.deepEqual(
    findings.filter((f) => f.allowedBy === null).map((f) => [f.ruleId, f.secret === openaiProject]),
    [['mcp-openai-api-key', true]],
  );
});

test('a keys.txt is reported anywhere but in the test fixtures', (t) => {
  const content = `# created: 2026-01-01T00:00:00Z\n# public key: ${ageRecipient}\n${ageSecret}\n`;
  const outside = scanFile(config, { path: 'mcp-age-key.txt', content });
  t.deepEqual(outside.map((f) => [f.ruleId, f.allowedBy]), [['mcp-age-secret-key', null]]);
  const inside = scanFile(config, { path: 'test/fixtures/age/keys.txt', content });
  t.deepEqual(inside.map((f) => [f.ruleId, f.allowedBy]), [['mcp-age-secret-key', 'test fixtures and benchmark data']]);
});

test('an EXAMPLE key in docs/ is excused, the same key in code is reported', (t) => {
  const content = `OPENAI_API_KEY=${docsFake}\n`;
  t.deepEqual(scanFile(config, { path: 'docs/ci.md', content }).map((f) => f.allowedBy), ['documentation examples: fake keys containing EXAMPLE, in docs/*.md']);
  t.deepEqual(scanFile(config, { path: 'scripts/demo.sh', content }).map((f) => f.allowedBy), [null]);
});

/** The repository's own text files that a scan of `.` would read and that this suite can see. */
function repositoryTextFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else files.push(full);
    }
  };
  walk(path.join(ROOT, 'docs'));
  walk(path.join(ROOT, 'config'));
  walk(path.join(ROOT, 'scripts'));
  for (const name of ['README.md', 'Makefile', '.sops.yaml']) {
    if (existsSync(path.join(ROOT, name))) files.push(path.join(ROOT, name));
  }
  return files;
}

test('the docs, config and scripts carry no key-shaped string the allow-lists do not excuse', (t) => {
  const files = repositoryTextFiles();
  t.true(files.length > 0);
  for (const file of files) {
    const rel = path.relative(ROOT, file).split(path.sep).join('/');
    const leaks = scanFile(config, { path: rel, content: readFileSync(file, 'utf8') }).filter((f) => f.allowedBy === null);
    t.deepEqual(leaks.map((f) => f.ruleId), [], `${rel}: key-shaped text (use an EXAMPLE key in docs)`);
  }
});

/** Text SOPS files among the real fixtures: (path, content) pairs. */
function sopsFixtureFiles(): { file: string; content: string }[] {
  const out: { file: string; content: string }[] = [];
  const visit = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) visit(full);
      else if (/^encrypted\.(?:yaml|json|env|ini|bin)$/.test(name)) {
        const content = readFileSync(full, 'utf8');
        if (content.includes('ENC[')) out.push({ file: full, content });
      }
    }
  };
  visit(SOPS_FIXTURES);
  return out;
}

const fixturesTitle = 'the allow-lists excuse every ENC value, armored data key and recipient in the real sops fixtures';
test(fixturesTitle, (t) => {
  t.true(existsSync(SOPS_FIXTURES), `${SOPS_FIXTURES} is missing`);
  const byName = (prefix: string) => config.allowlists.find((a) => a.description.startsWith(prefix));
  const enc = byName('SOPS encrypted values');
  const meta = byName('SOPS metadata');
  const recipients = byName('age public recipients');
  if (!enc || !meta || !recipients) return t.fail('allow-lists missing');
  const files = sopsFixtureFiles();
  t.true(files.length >= 10, 'the fixtures hold the expected SOPS files');
  let checked = 0;
  for (const { file, content } of files) {
    const ext = file.endsWith('.bin') ? 'json' : path.extname(file).slice(1);
    const asBundle = `config/secrets.enc.${ext}`;
    const name = path.relative(SOPS_FIXTURES, file);
    let inArmor = false;
    for (const line of content.split('\n')) {
      const trimmed = line.trim();
      if (trimmed === '-----BEGIN AGE ENCRYPTED FILE-----') inArmor = true;
      if (inArmor || line.includes('-----BEGIN AGE ENCRYPTED FILE-----\\n')) {
        t.true(allowlistAllows(meta, target({ path: asBundle, line })), `${name}: armor line not excused`);
        checked++;
      } else if (line.includes('ENC[')) {
        t.true(allowlistAllows(enc, target({ path: asBundle, line })), `${name}: ENC line not excused`);
        checked++;
      }
      if (trimmed === '-----END AGE ENCRYPTED FILE-----') inArmor = false;
    }
    for (const recipient of content.match(/\bage1[0-9a-z]{50,}/g) ?? []) {
      t.true(allowlistAllows(recipients, target({ path: asBundle, secret: recipient })), `${name}: recipient not excused`);
    }
    const leaks = scanFile(config, { path: asBundle, content }).filter((f) => f.allowedBy === null);
    t.deepEqual(leaks.map((f) => f.ruleId), [], `${name}: unexcused finding`);
  }
  t.true(checked > 100);
});

// --- the two readers the suite stands on ------------------------------------------------------

test('the Go pattern reader refuses what RE2 or JavaScript would read differently', (t) => {
  for (const pattern of ['a(?=b)', 'a(?!b)', '(?<=a)b', '(?<!a)b', '(a)\\1', '(?P<n>a)', '(?<n>a)', 'a(?i)b', '(?s).', '\\Aa\\z', '[[:alpha:]]', 'a{1001}', '\\pL']) {
    t.throws(() => goRegexpToJs(pattern), { instanceOf: UnsupportedGoRegexpError }, pattern);
  }
  const caseless = goRegexpToJs('(?i)zhipu[a-z]{2}');
  t.is(caseless.flags, 'i');
  t.true(caseless.test('ZHIPUab'));
  t.true(goRegexpToJs('[^\\]x]+').test('ab'), 'escaped ] inside a class');
});

test('the TOML reader keeps to its subset and names the line of anything else', (t) => {
  const parsed = parseTomlSubset(
    [
      'title = "a \\"b\\" c" # comment',
      '[extend]',
      'useDefault = true',
      '[[rules]]',
      "regex = '''\\b(x)'''",
      'entropy = 3.5',
      'keywords = [',
      '  "a", # first',
      "  'b',",
      ']',
      '[[rules]]',
      'secretGroup = 1',
      '[[rules.allowlists]]',
      'regexes = []',
    ].join('\n'),
  );
  t.deepEqual(parsed, {
    title: 'a "b" c',
    extend: { useDefault: true },
    rules: [{ regex: '\\b(x)', entropy: 3.5, keywords: ['a', 'b'] }, { secretGroup: 1, allowlists: [{ regexes: [] }] }],
  });
  const refused: [string, number][] = [
    ['a = { b = 1 }', 1],
    ['a.b = 1', 1],
    ['a = 1\na = 2', 2],
    ["a = '''x\ny'''", 1],
    ['a = "x\\ty"', 1],
    ['[t]\n[t]', 2],
    ['a = 1979-05-27', 1],
    ['a = 1 b = 2', 1],
  ];
  for (const [text, line] of refused) {
    const error = t.throws(() => parseTomlSubset(text), { instanceOf: TomlSubsetError }, text);
    t.is(error?.line, line, text);
  }
});
