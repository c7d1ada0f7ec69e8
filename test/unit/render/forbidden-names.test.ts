import test from 'ava';
import { AppError } from '../../../src/errors.js';
import { fromPlain, type TreeMap } from '../../../src/sops/tree.js';
import { isForbiddenName, toEntries } from '../../../src/render/entries.js';

function doc(plain: unknown): TreeMap {
  return fromPlain(plain) as TreeMap;
}

const FORBIDDEN = [
  'PATH', 'HOME', 'SHELL', 'ENV', 'BASH_ENV', 'IFS', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'DYLD_INSERT_LIBRARIES', 'NODE_OPTIONS', 'NODE_PATH',
  'PYTHONPATH', 'PYTHONSTARTUP', 'PERL5OPT', 'PERL5LIB', 'RUBYOPT', 'GIT_SSH_COMMAND', 'GIT_DIR', 'SOPS_AGE_KEY', 'SOPS_AGE_KEY_CMD',
  'MCP_SECRETS_SOCKET', 'MCP_SECRETS_KEYCHAIN',
];
const ORDINARY = ['MCP_SECRETS_VERSION', 'OPENAI_API_KEY', 'NODE_ENV', 'PATHS', 'HOMEPAGE_URL', 'GITHUB_TOKEN', 'ENVIRONMENT', 'SHELLY', 'MY_PATH', 'LDAP_URL'];

test('forbids every name of the contract list and its prefixes, and nothing ordinary', (t) => {
  for (const name of FORBIDDEN) t.true(isForbiddenName(name), name);
  for (const name of ORDINARY) t.false(isForbiddenName(name), name);
});

test('refuses LD_PRELOAD from a nested key, naming the entry and the path but not the value', (t) => {
  const error = t.throws(() => toEntries(doc({ OPENAI_API_KEY: 'sk-1', ld: { preload: '/tmp/evil-value.so' } }), { sourcePath: 'config/secrets.enc.yaml' }), { instanceOf: AppError });
  t.is(error?.code, 'E_FORBIDDEN_NAME');
  t.true(error?.message.includes('LD_PRELOAD'));
  t.true(error?.message.includes('ld.preload'));
  t.true(error?.message.includes('config/secrets.enc.yaml'));
  t.false(JSON.stringify([error?.message, error?.hint, error?.details]).includes('evil-value'));
  t.regex(error?.hint ?? '', /allowNames/);
});

test('refuses each forbidden name as a top-level key', (t) => {
  for (const name of FORBIDDEN) {
    t.is(t.throws(() => toEntries(doc({ [name]: 'x' })), { instanceOf: AppError })?.code, 'E_FORBIDDEN_NAME', name);
  }
});

test('publishes a forbidden name only when the user allows that exact name', (t) => {
  const document = doc({ NODE_OPTIONS: '--max-old-space-size=4096', LD_PRELOAD: 'x' });
  t.is(t.throws(() => toEntries(document, { allowNames: ['NODE_OPTIONS'] }), { instanceOf: AppError })?.code, 'E_FORBIDDEN_NAME', 'LD_PRELOAD is still refused');
  t.is(t.throws(() => toEntries(document, { allowNames: ['LD_*', 'NODE_OPTIONS'] }), { instanceOf: AppError })?.code, 'E_FORBIDDEN_NAME', 'no globs');
  t.deepEqual(
    toEntries(document, { allowNames: ['NODE_OPTIONS', 'LD_PRELOAD'] }).map((e) => e.name),
    ['NODE_OPTIONS', 'LD_PRELOAD'],
  );
});

test('keeps MCP_SECRETS_VERSION an ordinary entry', (t) => {
  t.deepEqual(toEntries(doc({ MCP_SECRETS_VERSION: '2026.11.3' })).map((e) => e.name), ['MCP_SECRETS_VERSION']);
});
