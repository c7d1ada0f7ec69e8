import test from 'ava';
import { createSettler, type SettledBatch } from '../../../src/watch/settle.js';
import { FakeClock } from '../../helpers/fake-clock.js';

type Reason = 'source' | 'head' | 'index';

function setup(overrides: { lockCapMs?: number } = {}) {
  const clock = new FakeClock();
  const fired: { at: number; batch: SettledBatch<Reason> }[] = [];
  const stale: number[] = [];
  const state = { locked: false };
  const settler = createSettler<Reason>({
    settleMs: 75,
    maxSettleMs: 1000,
    lockCapMs: overrides.lockCapMs ?? 10_000,
    lockRecheckMs: 250,
    clock,
    isLocked: () => state.locked,
    fire: (batch) => fired.push({ at: clock.now(), batch }),
    onStaleLock: (ms) => stale.push(ms),
  });
  return { clock, fired, stale, state, settler };
}

test('the first change after a pause fires at once, with the reasons and paths of the batch', (t) => {
  const { clock, fired, settler } = setup();
  clock.advance(5000);
  settler.note('source', '/r/a');
  settler.note('head', '/r/.git/HEAD');
  settler.note('source', '/r/a');
  t.is(fired.length, 0, 'events of the same turn are gathered first');
  clock.advance(0);
  t.is(fired.length, 1);
  t.is(fired[0]?.at, 5000);
  t.deepEqual([...fired[0]!.batch.reasons].sort(), ['head', 'source']);
  t.deepEqual(fired[0]?.batch.paths, ['/r/a', '/r/.git/HEAD']);
  t.false(settler.pending);
  clock.advance(10_000);
  t.is(fired.length, 1);
});

test('a change close behind a call waits for the quiet window (a storm), and fires once', (t) => {
  const { clock, fired, settler } = setup();
  settler.note('source', '/r/a');
  clock.advance(0);
  t.is(fired.length, 1);
  clock.advance(10);
  settler.note('head', '/r/.git/HEAD');
  clock.advance(40);
  settler.note('source', '/r/a');
  clock.advance(74);
  t.is(fired.length, 1);
  clock.advance(1);
  t.is(fired.length, 2);
  t.is(fired[1]?.at, 125);
  t.deepEqual([...fired[1]!.batch.reasons].sort(), ['head', 'source']);
});

test('still fires during a steady stream of changes, no later than the cap', (t) => {
  const { clock, fired, settler } = setup();
  for (let i = 0; i < 100; i++) {
    settler.note('source', '/r/a');
    clock.advance(50);
  }
  clock.advance(1000);
  // Changes every 50 ms from 0 to 4950: the first at once, then one batch a second, the last after the last change.
  t.deepEqual(
    fired.map((f) => f.at),
    [0, 1050, 2050, 3050, 4050, 5050],
  );
});

test('waits while index.lock exists and fires as soon as it goes', (t) => {
  const { clock, fired, state, settler } = setup();
  clock.advance(5000);
  state.locked = true;
  settler.note('index', '/r/.git/index.lock');
  settler.note('source', '/r/a');
  clock.advance(2000);
  t.is(fired.length, 0, 'nothing while git holds the index');
  state.locked = false;
  settler.note('index', '/r/.git/index.lock');
  t.is(fired.length, 0);
  clock.advance(0);
  t.is(fired.length, 1, 'the release of the lock fires at once');
  t.deepEqual([...fired[0]!.batch.reasons].sort(), ['index', 'source']);
});

test('notices a lock that went away without an event', (t) => {
  const { clock, fired, state, settler } = setup();
  state.locked = true;
  settler.note('source', '/r/a');
  clock.advance(500);
  state.locked = false;
  clock.advance(250);
  t.is(fired.length, 1);
});

test('gives up on a stale lock after the cap, reports it, and does not wait for it again', (t) => {
  const { clock, fired, stale, state, settler } = setup({ lockCapMs: 10_000 });
  state.locked = true;
  settler.note('source', '/r/a');
  clock.advance(9_999);
  t.is(fired.length, 0);
  clock.advance(1);
  t.is(fired.length, 1);
  t.deepEqual(stale, [10_000]);
  clock.advance(5000);
  settler.note('source', '/r/a');
  clock.advance(0);
  t.is(fired.length, 2, 'the same stale lock does not hold the next batch');
  state.locked = false;
  clock.advance(5000);
  settler.note('source', '/r/a');
  clock.advance(0);
  t.is(fired.length, 3);
  state.locked = true;
  clock.advance(5000);
  settler.note('source', '/r/a');
  clock.advance(75);
  t.is(fired.length, 3, 'a new lock is waited for again');
  state.locked = false;
  clock.advance(250);
  t.is(fired.length, 4);
});

test('does nothing without changes and forgets everything once disposed', (t) => {
  const { clock, fired, settler } = setup();
  clock.advance(60_000);
  t.is(fired.length, 0);
  settler.note('source', '/r/a');
  settler.dispose();
  t.is(clock.pendingTimers, 0);
  settler.note('source', '/r/a');
  clock.advance(60_000);
  t.is(fired.length, 0);
});

test('lengthens the quiet window while batches follow each other closely, and fires at once again after a pause', (t) => {
  const { clock, fired, settler } = setup();
  // One change every 100 ms: slower than the 75 ms window, so each would be its own call.
  for (let i = 0; i < 30; i++) {
    settler.note('source', '/r/a');
    clock.advance(100);
  }
  clock.advance(2000);
  t.true(fired.length <= 7, `${fired.length} calls for 30 spaced changes`);
  t.true((fired.at(-1)?.at ?? 0) >= 2900, 'the last call comes after the last change');
  const count = fired.length;
  settler.note('source', '/r/a');
  clock.advance(0);
  t.is(fired.length, count + 1, 'after a pause a change fires at once again');
});

test('reasons that do not count for storms (the daemon\'s own writes) never widen the window', (t) => {
  const clock = new FakeClock();
  const fired: number[] = [];
  const settler = createSettler<string>({
    settleMs: 75,
    maxSettleMs: 1000,
    lockCapMs: 10_000,
    lockRecheckMs: 50,
    clock,
    isLocked: () => false,
    fire: () => fired.push(clock.now()),
    countsForStorm: (r) => r !== 'output',
  });
  for (let i = 0; i < 5; i++) {
    clock.advance(200);
    const start = clock.now();
    settler.note('source');
    clock.advance(0);
    t.is(fired.at(-1), start, `change ${i} fires at once`);
    // the sync that follows rewrites the outputs 20 ms later
    clock.advance(20);
    settler.note('output');
    clock.advance(0);
    t.is(fired.at(-1), start + 20, `the outputs written after change ${i} fire at once too`);
  }
});
