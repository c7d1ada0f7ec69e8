import test from 'ava';
import { AppError } from '../../../src/errors.js';
import type { Entry, Provider } from '../../../src/render/entries.js';
import { globToRegExp, selectEntries, splitList } from '../../../src/consumers/select.js';

function entry(name: string, provider: Provider = 'ops'): Entry {
  return { name, provider, value: `value-of-${name}`, path: [name] };
}

const ENTRIES: Entry[] = [
  entry('GEMINI_API_KEY', 'gemini'),
  entry('GOOGLE_API_KEY', 'gemini'),
  entry('OPENAI_API_KEY', 'openai'),
  entry('CODEX_TOKEN', 'openai'),
  entry('ANTHROPIC_API_KEY', 'anthropic'),
  entry('DATABASE_URL'),
  entry('MCP_SECRETS_VERSION'),
];

const names = (list: Entry[]) => list.map((e) => e.name);

test('no selector gives every entry, in bundle order', (t) => {
  t.deepEqual(names(selectEntries(ENTRIES, {})), names(ENTRIES));
});

test('selectors add up and the result keeps bundle order, each entry once', (t) => {
  const picked = selectEntries(ENTRIES, { only: ['DATABASE_URL', 'GEMINI_*'], providers: ['openai'] });
  t.deepEqual(names(picked), ['GEMINI_API_KEY', 'OPENAI_API_KEY', 'CODEX_TOKEN', 'DATABASE_URL']);
});

test('a profile contributes its includes and providers', (t) => {
  const profiles = { gemini: { include: ['GEMINI_*', 'GOOGLE_API_KEY'] }, claude: { providers: ['anthropic'] } };
  t.deepEqual(names(selectEntries(ENTRIES, { profiles: ['gemini'] }, profiles)), ['GEMINI_API_KEY', 'GOOGLE_API_KEY']);
  t.deepEqual(names(selectEntries(ENTRIES, { profiles: ['gemini', 'claude'] }, profiles)), ['GEMINI_API_KEY', 'GOOGLE_API_KEY', 'ANTHROPIC_API_KEY']);
});

test('a literal name that is not in the bundle fails, naming it', (t) => {
  const error = t.throws(() => selectEntries(ENTRIES, { only: ['GEMINI_API_KEY', 'MISSING_KEY'] }), { instanceOf: AppError });
  t.is(error.code, 'E_USAGE');
  t.regex(error.message, /--only MISSING_KEY/);
  t.notRegex(error.message, /value-of/);
});

test('a glob that matches nothing fails, and so does a provider with no entry', (t) => {
  t.throws(() => selectEntries(ENTRIES, { only: ['ZHIPU_*'] }), { message: /--only ZHIPU_\*/ });
  t.throws(() => selectEntries(ENTRIES, { providers: ['zhipu'] }), { message: /--provider zhipu/ });
});

test('an unknown profile or provider is a usage error that lists what exists', (t) => {
  const profileError = t.throws(() => selectEntries(ENTRIES, { profiles: ['nope'] }, { gemini: { include: ['GEMINI_*'] } }), { instanceOf: AppError });
  t.is(profileError.code, 'E_USAGE');
  t.regex(profileError.hint ?? '', /gemini/);
  t.throws(() => selectEntries(ENTRIES, { providers: ['mistral'] }), { message: /unknown provider/ });
});

test('a profile named like an Object prototype member is still unknown', (t) => {
  t.throws(() => selectEntries(ENTRIES, { profiles: ['constructor'] }, {}), { message: /unknown profile/ });
});

test('provider aliases resolve like the entry rules (codex is openai)', (t) => {
  t.deepEqual(names(selectEntries(ENTRIES, { providers: ['Codex'] })), ['OPENAI_API_KEY', 'CODEX_TOKEN']);
});

test('globs are anchored and treat regex characters literally', (t) => {
  t.true(globToRegExp('GEMINI_*').test('GEMINI_API_KEY'));
  t.false(globToRegExp('GEMINI_*').test('X_GEMINI_API_KEY'));
  t.true(globToRegExp('A?C').test('ABC'));
  t.false(globToRegExp('A.C').test('ABC'));
});

test('--only lists split on commas and ignore blanks', (t) => {
  t.deepEqual(splitList(['A,B', ' C ,', '']), ['A', 'B', 'C']);
});
