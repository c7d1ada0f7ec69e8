import test from 'ava';
import { AppError } from '../../../src/errors.js';
import { parseSopsJson, resolveSopsCliOptions, sopsArgs, sopsChildEnv, summariseSopsStderr } from '../../../src/engine/sops-cli.js';

const KEY = 'AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS9X';

test('parses sops JSON into Maps keeping integer-like keys where they are', (t) => {
  const tree = parseSopsJson('{"z": 1, "10": {"2": "b", "1": "a"}, "9": [{"3": null, "0": false}], "e": "\\u00e9\\ud83d\\ude00"}', '/f');
  t.deepEqual([...tree.keys()], ['z', '10', '9', 'e']);
  t.deepEqual([...(tree.get('10') as Map<string, unknown>).keys()], ['2', '1']);
  const inner = (tree.get('9') as unknown[])[0] as Map<string, unknown>;
  t.deepEqual([...inner.keys()], ['3', '0']);
  t.is(tree.get('e'), 'é😀');
});

test('rejects JSON that is not an object, and duplicate keys, without echoing the text', (t) => {
  for (const text of ['["a"]', '"secret-text"', '{"a": "secret-text", "a": "x"}', '{"a": "secret-text"']) {
    const error = t.throws(() => parseSopsJson(text, '/repo/b.yaml'), { instanceOf: AppError });
    t.is(error?.code, 'E_SOPS_CLI');
    t.true(error?.message.includes('/repo/b.yaml'));
    t.false(error?.message.includes('secret-text'));
  }
});

test('builds the contract argv with an absolute path and no key', (t) => {
  t.deepEqual(sopsArgs({ format: 'ini', path: '/a b/c.ini' }), ['--decrypt', '--input-type', 'ini', '--output-type', 'json', '/a b/c.ini']);
});

const AGE_BUNDLE = { ageRecipients: ['age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq'], otherKeyTypes: [] };

test('gives the child SOPS_AGE_KEY from the identities and drops an inherited one', (t) => {
  const env = sopsChildEnv({ PATH: '/bin', SOPS_AGE_KEY: 'inherited', UNSET: undefined }, [` ${KEY} `, '', 'AGE-SECRET-KEY-1SECOND'], AGE_BUNDLE);
  t.deepEqual(env, { PATH: '/bin', SOPS_AGE_KEY: `${KEY}\nAGE-SECRET-KEY-1SECOND` });
  t.deepEqual(sopsChildEnv({ PATH: '/bin', SOPS_AGE_KEY: 'inherited' }, [], AGE_BUNDLE), { PATH: '/bin' });
});

const HOSTILE_ENV = {
  PATH: '/bin',
  HOME: '/home/u',
  LANG: 'C.UTF-8',
  TMPDIR: '/tmp/u',
  VAULT_TOKEN: 'hvs.user-vault-token',
  VAULT_ADDR: 'https://vault.example',
  AWS_ACCESS_KEY_ID: 'AKIAUSER',
  AWS_SECRET_ACCESS_KEY: 'aws-user-secret',
  GOOGLE_APPLICATION_CREDENTIALS: '/home/u/gcp.json',
  GNUPGHOME: '/home/u/.gnupg',
  SOPS_AGE_KEY_FILE: '/home/u/keys.txt',
  SOPS_AGE_KEY_CMD: 'pass show age',
  LD_PRELOAD: '/tmp/evil.so',
  NODE_OPTIONS: '--require /tmp/evil.js',
  GITHUB_TOKEN: 'ghp_user',
};

test('gives sops only the basics and the credentials of the key types the bundle lists', (t) => {
  t.deepEqual(sopsChildEnv(HOSTILE_ENV, [KEY], AGE_BUNDLE), { PATH: '/bin', HOME: '/home/u', LANG: 'C.UTF-8', TMPDIR: '/tmp/u', SOPS_AGE_KEY: KEY });
  t.deepEqual(sopsChildEnv(HOSTILE_ENV, [KEY], { ageRecipients: [], otherKeyTypes: ['hc_vault'] }), {
    PATH: '/bin',
    HOME: '/home/u',
    LANG: 'C.UTF-8',
    TMPDIR: '/tmp/u',
    VAULT_TOKEN: 'hvs.user-vault-token',
    VAULT_ADDR: 'https://vault.example',
  });
  const kms = sopsChildEnv(HOSTILE_ENV, [KEY], { ageRecipients: [], otherKeyTypes: ['kms'] });
  t.is(kms.AWS_SECRET_ACCESS_KEY, 'aws-user-secret');
  t.is(kms.VAULT_TOKEN, undefined);
  t.is(kms.SOPS_AGE_KEY, undefined, 'no age identity for a bundle with no age recipient');
  const pgp = sopsChildEnv(HOSTILE_ENV, [KEY], { ageRecipients: [], otherKeyTypes: ['pgp'] });
  t.deepEqual(Object.keys(pgp).sort(), ['GNUPGHOME', 'HOME', 'LANG', 'PATH', 'TMPDIR']);
});

test('never hands sops the loader, Node, git or other age key variables', (t) => {
  for (const otherKeyTypes of [[], ['pgp'], ['kms'], ['gcp_kms'], ['azure_kv'], ['hc_vault'], ['pgp', 'kms', 'gcp_kms', 'azure_kv', 'hc_vault']]) {
    const env = sopsChildEnv(HOSTILE_ENV, [KEY], { ageRecipients: AGE_BUNDLE.ageRecipients, otherKeyTypes });
    for (const name of ['LD_PRELOAD', 'NODE_OPTIONS', 'GITHUB_TOKEN', 'SOPS_AGE_KEY_FILE', 'SOPS_AGE_KEY_CMD']) t.false(name in env, `${name} with ${otherKeyTypes.join(',')}`);
  }
});

test('summarises stderr in a few masked lines', (t) => {
  const stderr = `\u001b[31mline one\u001b[0m\n\n  line two ${KEY}\nline three\nline four\nline five\n-----BEGIN PGP PRIVATE KEY BLOCK-----\nabc\n-----END PGP PRIVATE KEY BLOCK-----`;
  const s = summariseSopsStderr(stderr, [], 4);
  t.is(s, 'line one / line two AGE-SECRET-KEY-1[redacted] / line three / line four');
  t.false(summariseSopsStderr(`x\n-----BEGIN PGP PRIVATE KEY BLOCK-----\nsecretbody\n-----END PGP PRIVATE KEY BLOCK-----`).includes('secretbody'));
  t.false(summariseSopsStderr('key: custom-identity-text', ['custom-identity-text']).includes('custom-identity-text'));
});

test('refuses a bad timeout or binary naming the option', (t) => {
  t.is(t.throws(() => resolveSopsCliOptions({ bundleKeys: AGE_BUNDLE, timeoutMs: -1 }), { instanceOf: AppError })?.code, 'E_USAGE');
  t.regex(t.throws(() => resolveSopsCliOptions({ bundleKeys: AGE_BUNDLE, timeoutMs: 1.5 }))?.message ?? '', /timeoutMs/);
  t.regex(t.throws(() => resolveSopsCliOptions({ bundleKeys: AGE_BUNDLE, binary: '' }))?.message ?? '', /binary/);
  const r = resolveSopsCliOptions({ bundleKeys: AGE_BUNDLE, env: { A: '1' } });
  t.is(r.binary, 'sops');
  t.is(r.timeoutMs, 15000);
  t.true(Object.isFrozen(r));
});
