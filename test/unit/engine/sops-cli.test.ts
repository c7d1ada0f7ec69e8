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

test('gives the child SOPS_AGE_KEY from the identities and drops an inherited one', (t) => {
  const env = sopsChildEnv({ PATH: '/bin', SOPS_AGE_KEY: 'inherited', UNSET: undefined }, [` ${KEY} `, '', 'AGE-SECRET-KEY-1SECOND']);
  t.deepEqual(env, { PATH: '/bin', SOPS_AGE_KEY: `${KEY}\nAGE-SECRET-KEY-1SECOND` });
  t.deepEqual(sopsChildEnv({ PATH: '/bin', SOPS_AGE_KEY: 'inherited' }, []), { PATH: '/bin' });
});

test('summarises stderr in a few masked lines', (t) => {
  const stderr = `\u001b[31mline one\u001b[0m\n\n  line two ${KEY}\nline three\nline four\nline five\n-----BEGIN PGP PRIVATE KEY BLOCK-----\nabc\n-----END PGP PRIVATE KEY BLOCK-----`;
  const s = summariseSopsStderr(stderr, [], 4);
  t.is(s, 'line one / line two AGE-SECRET-KEY-1[redacted] / line three / line four');
  t.false(summariseSopsStderr(`x\n-----BEGIN PGP PRIVATE KEY BLOCK-----\nsecretbody\n-----END PGP PRIVATE KEY BLOCK-----`).includes('secretbody'));
  t.false(summariseSopsStderr('key: custom-identity-text', ['custom-identity-text']).includes('custom-identity-text'));
});

test('refuses a bad timeout or binary naming the option', (t) => {
  t.is(t.throws(() => resolveSopsCliOptions({ timeoutMs: -1 }), { instanceOf: AppError })?.code, 'E_USAGE');
  t.regex(t.throws(() => resolveSopsCliOptions({ timeoutMs: 1.5 }))?.message ?? '', /timeoutMs/);
  t.regex(t.throws(() => resolveSopsCliOptions({ binary: '' }))?.message ?? '', /binary/);
  const r = resolveSopsCliOptions({ env: { A: '1' } });
  t.is(r.binary, 'sops');
  t.is(r.timeoutMs, 15000);
  t.true(Object.isFrozen(r));
});
