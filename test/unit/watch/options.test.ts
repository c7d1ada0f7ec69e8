import test from 'ava';
import { resolveWatchOptions } from '../../../src/watch/index.js';

const base = { workTree: '/r', sourcePath: '/r/config/secrets.enc.yaml', outputPaths: ['/h/.env', '/h/console-secrets.json'], onChange: () => {} };

test('applies the documented defaults and freezes the result', (t) => {
  const options = resolveWatchOptions(base);
  t.is(options.settleMs, 75);
  t.is(options.maxSettleMs, 1000);
  t.is(options.lockCapMs, 10_000);
  t.deepEqual(options.extraPaths, []);
  t.true(Object.isFrozen(options));
  t.true(Object.isFrozen(options.outputPaths));
});

test('rejects bad options with the option name and the bad value', (t) => {
  t.throws(() => resolveWatchOptions({ ...base, sourcePath: 'config/secrets.enc.yaml' }), { message: /sourcePath must be an absolute path, not "config\/secrets.enc.yaml"/ });
  t.throws(() => resolveWatchOptions({ ...base, outputPaths: ['/h/.env', 'rel'] }), { message: /outputPaths\[1\]/ });
  t.throws(() => resolveWatchOptions({ ...base, settleMs: -1 }), { message: /settleMs must be a duration in ms >= 0, not -1/ });
  t.throws(() => resolveWatchOptions({ ...base, settleMs: 500, maxSettleMs: 100 }), { message: /maxSettleMs \(100\) must not be below settleMs \(500\)/ });
});
