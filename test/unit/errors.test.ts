import test from 'ava';
import { AppError, exitCodeFor, sanitizeForMessage, EXIT } from '../../src/errors.js';

test('maps usage errors to 64 and unreachable daemons to 3', (t) => {
  t.is(exitCodeFor(new AppError('E_USAGE', 'bad flag')), EXIT.USAGE);
  t.is(exitCodeFor(new AppError('E_DAEMON_UNREACHABLE', 'no daemon')), EXIT.UNREACHABLE);
  t.is(exitCodeFor(new AppError('E_MAC_MISMATCH', 'mac')), EXIT.FAILED);
  t.is(exitCodeFor(new Error('bug')), EXIT.FAILED);
});

test('masks age secret keys and escapes control characters in echoed text', (t) => {
  const text = 'bad line AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGP\x1b[31m';
  const safe = sanitizeForMessage(text);
  t.false(safe.includes('QYQSZQGP'));
  t.false(safe.includes('\x1b'));
  t.true(safe.includes('\\x1b'));
});

test('describes an error with its hint on a second line', (t) => {
  const e = new AppError('E_NO_IDENTITY', 'no identity opens config/secrets.enc.yaml', { hint: 'run `mcp-secrets identity import`' });
  t.is(e.describe(), 'no identity opens config/secrets.enc.yaml\nhint: run `mcp-secrets identity import`');
  t.deepEqual(e.toJSON(), { code: 'E_NO_IDENTITY', message: 'no identity opens config/secrets.enc.yaml', hint: 'run `mcp-secrets identity import`' });
});
