import test from 'ava';
import { grantOf, isConfigGrant, wideningOf } from '../../../src/config/config-trust.js';
import { DEFAULT_REPO_CONFIG, parseRepoConfig } from '../../../src/config/repo-config.js';

const FILE = '/r/.mcp-secrets.yaml';
const base = `version: 1
profiles:
  gemini: {include: ["GEMINI_*"]}
  openai: {providers: [openai]}
outputs:
  - {file: .env, format: env}
  - {file: gemini.env, format: env, profile: gemini}
`;

async function grant(text: string) {
  return grantOf(await parseRepoConfig(text, FILE));
}

test('the same config, or a narrower one, widens nothing', async (t) => {
  const accepted = await grant(base);
  t.deepEqual(wideningOf(accepted, await grant(base)), []);
  const narrower = base.replace('  - {file: .env, format: env}\n', '').replace('  openai: {providers: [openai]}\n', '');
  t.deepEqual(wideningOf(accepted, await grant(narrower)), []);
});

test('a new output, a widened profile, a new profile and an output losing its profile are each named', async (t) => {
  const accepted = await grant(base);
  const next = await grant(`version: 1
profiles:
  gemini: {include: ["GEMINI_*", GOOGLE_API_KEY]}
  openai: {providers: [openai, anthropic]}
  ops: {providers: [ops]}
outputs:
  - {file: .env, format: env}
  - {file: gemini.env, format: env}
  - {file: ops.json, format: json, profile: ops}
`);
  t.deepEqual(wideningOf(accepted, next), [
    'output gemini.env now also gets every entry',
    'new output ops.json (provider ops)',
    'profile gemini now also selects GOOGLE_API_KEY',
    'profile openai now also selects provider anthropic',
    'new profile ops (provider ops)',
  ]);
});

test('provider aliases compare as the provider they name', async (t) => {
  const accepted = await grant('version: 1\nprofiles:\n  a: {providers: [openai]}\n');
  t.deepEqual(wideningOf(accepted, await grant('version: 1\nprofiles:\n  a: {providers: [codex]}\n')), []);
});

test('from the default config, any repo config that adds an output is a widening; an output of every entry is not', async (t) => {
  const accepted = grantOf(DEFAULT_REPO_CONFIG);
  t.deepEqual(accepted.outputs, { '.env': ['*'], 'console-secrets.json': ['*'] });
  t.deepEqual(wideningOf(accepted, await grant('version: 1\noutputs:\n  - {file: .env, format: env}\n')), []);
  t.deepEqual(wideningOf(accepted, await grant('version: 1\noutputs:\n  - {file: all.json, format: json}\n')), ['new output all.json (every entry)']);
});

test('a grant survives a JSON round trip and malformed ones are recognised', async (t) => {
  const g = await grant(base);
  t.true(isConfigGrant(JSON.parse(JSON.stringify(g))));
  t.false(isConfigGrant({ outputs: { a: 'x' }, profiles: {} }));
  t.false(isConfigGrant(null));
});
