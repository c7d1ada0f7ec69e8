import test from 'ava';
import { AppError } from '../../../src/errors.js';
import { DEFAULT_REPO_CONFIG, loadRepoConfig, parseRepoConfig } from '../../../src/config/repo-config.js';

const FILE = '/repo/.mcp-secrets.yaml';

const GOOD = `version: 1
profiles:
  gemini: {include: ["GEMINI_*", GOOGLE_API_KEY]}
  openai: {providers: [openai]}
outputs:
  - {file: .env, format: env}
  - {file: console-secrets.json, format: secretstore}
  - {file: gemini.env, format: env, profile: gemini, dialect: bash}
  - {file: openai.json, format: json, profile: openai}
`;

async function problem(text: string): Promise<AppError> {
  const error = await parseRepoConfig(text, FILE).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  return error;
}

test('reads the documented example: profiles and four outputs, env dialect defaulting to compat', async (t) => {
  const config = await parseRepoConfig(GOOD, FILE);
  t.deepEqual(Object.keys(config.profiles), ['gemini', 'openai']);
  t.deepEqual(config.outputs.map((o) => [o.file, o.format, o.profile, o.dialect]), [
    ['.env', 'env', undefined, 'compat'],
    ['console-secrets.json', 'secretstore', undefined, undefined],
    ['gemini.env', 'env', 'gemini', 'bash'],
    ['openai.json', 'json', 'openai', undefined],
  ]);
  t.is(config.file, FILE);
});

test('no outputs key means the two default outputs', async (t) => {
  const config = await parseRepoConfig('version: 1\nprofiles:\n  a: {providers: [ops]}\n', FILE);
  t.deepEqual(config.outputs, DEFAULT_REPO_CONFIG.outputs);
});

test('an absent file is the default config, exactly', async (t) => {
  t.is(await loadRepoConfig('/repo', async () => null), DEFAULT_REPO_CONFIG);
});

test('names the file, the line and the key path of a schema error', async (t) => {
  const error = await problem('version: 1\noutputs:\n  - {file: a.env, format: yaml}\n');
  t.is(error.code, 'E_PARSE');
  t.regex(error.message, /\.mcp-secrets\.yaml/);
  t.regex(error.message, /line 3: outputs\[0\]\.format: must be equal to one of the allowed values: env, secretstore, json/);
});

test('refuses a path, a reserved name, a duplicate, an unknown profile and a dialect on json', async (t) => {
  t.regex((await problem('version: 1\noutputs:\n  - {file: ../x, format: env}\n')).message, /outputs\[0\]\.file/);
  t.regex((await problem('version: 1\noutputs:\n  - {file: sub/x, format: env}\n')).message, /outputs\[0\]\.file/);
  t.regex((await problem('version: 1\noutputs:\n  - {file: logs, format: env}\n')).message, /reserved/);
  t.regex((await problem('version: 1\noutputs:\n  - {file: trust.json, format: json}\n')).message, /reserved/);
  t.regex((await problem('version: 1\noutputs:\n  - {file: .mcp-secrets-tmp-1, format: env}\n')).message, /reserved/);
  t.regex((await problem('version: 1\noutputs:\n  - {file: a, format: env}\n  - {file: a, format: json}\n')).message, /line 4: outputs\[1\]\.file: "a" is listed twice/);
  t.regex((await problem('version: 1\noutputs:\n  - {file: a, format: env, profile: nope}\n')).message, /no profile named "nope"/);
  t.regex((await problem('version: 1\noutputs:\n  - {file: a, format: json, dialect: bash}\n')).message, /dialect applies to env outputs only/);
});

test('refuses unknown keys, a missing version, a wrong version and bad selectors', async (t) => {
  t.regex((await problem('version: 1\nhooks: []\n')).message, /must NOT have additional properties \(hooks\)/);
  t.regex((await problem('profiles: {}\n')).message, /must have required property 'version'/);
  t.regex((await problem('version: 2\n')).message, /version/);
  t.regex((await problem('version: 1\nprofiles:\n  p: {include: ["A B"]}\n')).message, /line 3: profiles\.p\.include\[0\]/);
  t.regex((await problem('version: 1\nprofiles:\n  p: {providers: [mistral]}\n')).message, /profiles\.p\.providers\[0\]/);
  t.regex((await problem('version: 1\nprofiles:\n  p: {}\n')).message, /profiles\.p/);
});

test('refuses YAML errors, duplicate keys, aliases and a top level that is not a mapping', async (t) => {
  t.regex((await problem('version: 1\nversion: 1\n')).message, /line 2/);
  t.regex((await problem('version: 1\nprofiles:\n  a: &x {include: [A]}\n  b: *x\n')).message, /aliases/);
  t.regex((await problem('- 1\n')).message, /expected a mapping/);
  t.regex((await problem('version: [\n')).message, /not a valid mcp-secrets config/);
});

test('an error never echoes control characters from the file', async (t) => {
  const error = await problem('version: 1\nprofiles:\n  "\\e[31m": {include: [A]}\n');
  t.false(error.message.includes(String.fromCharCode(27)));
});
