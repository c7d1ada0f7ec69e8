import test from 'ava';
import { AppError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { DaemonCore, type Probe } from '../../../src/daemon/core.js';
import type { SyncSuccess } from '../../../src/bundle/sync-result.js';
import type { StatusDocument } from '../../../src/ipc/status.js';
import { DataKeyChangedError } from '../../../src/trust/data-keys.js';

/** A fake world: the "disk" is two variables, and runSync is a function the test controls. */
function world(opts: { confirmFailureMs?: number; maxDeferMs?: number; now?: () => Date } = {}) {
  const disk = { source: 'sha-a' as string | null, commit: 'c0ffee' as string | null, dirty: false as boolean | null, outputs: [null, null] as (string | null)[], recipients: ['age1aaa'], config: ['age1aaa'] as string[] | null, widened: [false, false] };
  let fail: AppError | null = null;
  let running = 0;
  let maxRunning = 0;
  let gate: Promise<void> | null = null;
  const secrets: string[][] = [];
  const accepted: { bundlePath: string; digest: string }[] = [];
  const core = new DaemonCore({
    runSync: async (): Promise<SyncSuccess> => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      try {
        if (gate) await gate;
        await Promise.resolve();
        if (fail) throw fail;
        const sha = disk.source!;
        disk.outputs = [`env-of-${sha}`, `console-of-${sha}`];
        return {
          sourcePath: '/repo/config/secrets.enc.yaml',
          sourceSha256: sha,
          commit: disk.commit,
          dirty: disk.dirty,
          entries: 3,
          secretsVersion: `v-${sha}`,
          outputs: [
            { kind: 'env', format: 'env', file: '.env', path: '/home/.env', sha256: disk.outputs[0]!, entriesDigest: 'd-env' },
            { kind: 'console', format: 'secretstore', file: 'console-secrets.json', path: '/home/console-secrets.json', sha256: disk.outputs[1]!, entriesDigest: 'd-console' },
          ],
          written: ['.env', 'console-secrets.json'],
          unchanged: [],
          removed: [],
          warnings: [],
          identity: { source: 'env', recipients: ['age1aaa'], opensNothing: [] },
          bundleRecipients: [...disk.recipients],
          sopsConfigRecipients: disk.config,
          dataKeyPin: 'known',
          durationMs: 1,
          secretValues: ['super-secret-value'],
        };
      } finally {
        running--;
      }
    },
    probe: async (expected): Promise<Probe> => {
      const outputs = disk.outputs.map((sha, i) => {
        const intact = sha !== null && sha === expected[i] && !disk.widened[i];
        return { path: `/home/${i}`, intact, problems: intact ? [] : ['changed'], links: 1 };
      });
      return { sourceExists: disk.source !== null, sourceSha256: disk.source, integrity: { intact: outputs.every((o) => o.intact), outputs, homeProblems: [] } };
    },
    now: opts.now ?? (() => new Date('2026-11-28T12:00:00Z')),
    // 0: failures are reported at once (the tests of mid-write retries set a window)
    confirmFailureMs: opts.confirmFailureMs ?? 0,
    maxDeferMs: opts.maxDeferMs,
    logger: silentLogger,
    daemon: { pid: 1, version: '0.0.0', startedAt: '2026-11-28T12:00:00Z', socket: '/run/s.sock' },
    sourcePath: '/repo/config/secrets.enc.yaml',
    outputs: [
      { kind: 'env', format: 'env', path: '/home/.env' },
      { kind: 'console', format: 'secretstore', path: '/home/console-secrets.json' },
    ],
    onSecrets: (values) => secrets.push(values),
    acceptDataKey: async (bundlePath, digest) => {
      accepted.push({ bundlePath, digest });
      fail = null;
    },
  });
  return {
    core,
    accepted,
    disk,
    secrets,
    setFail: (e: AppError | null) => (fail = e),
    hold: () => {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return () => {
        gate = null;
        release();
      };
    },
    get maxRunning() {
      return maxRunning;
    },
  };
}

test('starts in "starting" and becomes fresh after the first full publish', async (t) => {
  const w = world();
  t.is(w.core.status().state, 'starting');
  t.false(w.core.status().fresh);
  await w.core.trigger({ reasons: ['startup'], force: true });
  const s = w.core.status();
  t.is(s.state, 'fresh');
  t.true(s.fresh);
  t.is(s.secretsVersion, 'v-sha-a');
  t.true(s.outputs[0]!.intact);
  t.is(s.lastSync?.ok, true);
});

test('does no work when the bundle and the outputs are unchanged', async (t) => {
  const w = world();
  await w.core.trigger({ reasons: ['startup'], force: true });
  await w.core.trigger({ reasons: ['source'] });
  await w.core.trigger({ reasons: ['output'] });
  t.is(w.core.stats.syncs, 1);
});

test('re-syncs when an output was changed by someone else', async (t) => {
  const w = world();
  await w.core.trigger({ reasons: ['startup'], force: true });
  w.disk.outputs[0] = 'tampered';
  await w.core.trigger({ reasons: ['output'] });
  t.is(w.core.stats.syncs, 2);
  t.is(w.core.status().state, 'fresh');
});

test('never runs two syncs at once and queues exactly one more', async (t) => {
  const w = world();
  const release = w.hold();
  const first = w.core.trigger({ reasons: ['startup'], force: true });
  const queued = [1, 2, 3, 4, 5].map(() => w.core.trigger({ reasons: ['head'] }));
  release();
  await Promise.all([first, ...queued]);
  t.is(w.maxRunning, 1);
  t.is(w.core.stats.maxConcurrent, 1);
  t.is(w.core.stats.syncs, 2);
});

test('keeps the last good outputs and reports error when a new bundle is bad', async (t) => {
  const w = world();
  await w.core.trigger({ reasons: ['startup'], force: true });
  w.disk.source = 'sha-b';
  w.setFail(new AppError('E_MAC_MISMATCH', 'MAC mismatch in config/secrets.enc.yaml'));
  await w.core.trigger({ reasons: ['source'] });
  const s = w.core.status();
  t.is(s.state, 'error');
  t.false(s.fresh);
  t.is(s.lastSync?.error?.code, 'E_MAC_MISMATCH');
  t.true(s.outputs[0]!.intact, 'outputs are still the good ones');
  t.is(s.secretsVersion, 'v-sha-a');
  w.setFail(null);
  await w.core.trigger({ reasons: ['source'] });
  t.is(w.core.status().state, 'fresh');
  t.is(w.core.status().secretsVersion, 'v-sha-b');
});

test('a bad bundle reverted to the good one is synced again, so fresh never sits beside a failed last sync', async (t) => {
  const w = world();
  await w.core.trigger({ reasons: ['startup'], force: true });
  w.disk.source = 'sha-bad';
  w.setFail(new AppError('E_DECRYPT', 'bad tag'));
  await w.core.trigger({ reasons: ['source'] });
  t.is(w.core.status().state, 'error');
  w.disk.source = 'sha-a';
  await w.core.trigger({ reasons: ['source'] });
  t.is(w.core.status().state, 'error', 'the revert is decrypted again, and the (still failing) engine says so');
  t.is(w.core.stats.syncs, 3);
  w.setFail(null);
  await w.core.trigger({ reasons: ['source'] });
  const s = w.core.status();
  t.is(s.state, 'fresh');
  t.true(s.lastSync!.ok);
  t.is(s.lastSync!.error, null);
  t.is(s.source.commit, 'c0ffee');
  t.is(w.core.stats.syncs, 4);
  await w.core.trigger({ reasons: ['source'] });
  t.is(w.core.stats.syncs, 4, 'once good again, an unchanged bundle needs no decrypt');
});

test('a failed attempt leaves no earlier commit and no forgotten recipient in the status', async (t) => {
  const w = world();
  await w.core.trigger({ reasons: ['startup'], force: true });
  t.is(w.core.status().source.commit, 'c0ffee');
  w.disk.source = 'sha-conflicted';
  w.setFail(new AppError('E_CONFLICT', 'markers'));
  await w.core.trigger({ reasons: ['source'] });
  t.is(w.core.status().state, 'conflict');
  t.is(w.core.status().source.commit, null, 'the commit of the last good bytes does not describe these');
  t.is(w.core.status().source.dirty, null);
  w.disk.source = 'sha-a';
  w.setFail(new AppError('E_NO_IDENTITY', 'no age identity found to open config/secrets.enc.yaml; tried:\n  keychain: no identity stored\n  SOPS_AGE_KEY: not set'));
  await w.core.trigger({ reasons: ['source'] });
  const locked = w.core.status();
  t.is(locked.state, 'locked');
  t.is(locked.source.commit, null);
  t.deepEqual(locked.identity, { source: 'none', recipients: [], opens: false, opensNothing: [] });
});

test('an identity that opens nothing is named as such, not as "none"', async (t) => {
  const w = world();
  w.setFail(
    new AppError('E_IDENTITY_MISMATCH', 'none of your age identities opens it', {
      details: { triedRecipients: ['age1new'], attempts: [{ source: 'keychain', outcome: 'found 1 identity' }, { source: 'SOPS_AGE_KEY', outcome: 'not set' }] },
    }),
  );
  await w.core.trigger({ reasons: ['startup'], force: true });
  const s = w.core.status();
  t.is(s.state, 'locked');
  t.deepEqual(s.identity, { source: 'keychain', recipients: ['age1new'], opens: false, opensNothing: ['age1new'] });
});

test('an output that stops being intact (mode, owner, links or bytes) is published again and is not fresh meanwhile', async (t) => {
  const w = world();
  await w.core.trigger({ reasons: ['startup'], force: true });
  t.true(w.core.status().outputs.every((o) => o.intact));
  w.disk.widened[0] = true;
  let seen: StatusDocument | null = null;
  const off = w.core.onStatusChange((s) => (seen ??= s.state !== 'fresh' ? s : null));
  w.disk.widened[0] = false; // the (fake) publish repairs it; the probe saw it broken first
  w.disk.outputs[0] = 'tampered';
  await w.core.trigger({ reasons: ['output'] });
  off();
  t.is(seen!.state, 'syncing');
  t.is(w.core.stats.syncs, 2);
  t.is(w.core.status().state, 'fresh');
  t.true(w.core.status().outputs[0]!.intact);
});

test('maps failures to the contract states', async (t) => {
  const cases: [string, StatusDocument['state']][] = [
    ['E_CONFLICT', 'conflict'],
    ['E_SOURCE_MISSING', 'missing'],
    ['E_NO_IDENTITY', 'locked'],
    ['E_IDENTITY_MISMATCH', 'locked'],
    ['E_KEYCHAIN', 'locked'],
    ['E_PARSE', 'error'],
  ];
  for (const [code, state] of cases) {
    const w = world();
    w.setFail(new AppError(code as never, 'x'));
    await w.core.trigger({ reasons: ['startup'], force: true });
    t.is(w.core.status().state, state, code);
  }
});

test('wait-fresh resolves once fresh, or with the current status at the timeout', async (t) => {
  const w = world();
  const waiting = w.core.waitFresh(5_000);
  void w.core.trigger({ reasons: ['startup'], force: true });
  t.is((await waiting).state, 'fresh');
  w.disk.source = 'sha-b';
  w.setFail(new AppError('E_PARSE', 'bad yaml'));
  await w.core.trigger({ reasons: ['source'] });
  t.is((await w.core.waitFresh(20)).state, 'error');
});

test('pushes every state change to subscribers', async (t) => {
  const w = world();
  const seen: StatusDocument['state'][] = [];
  const off = w.core.onStatusChange((s) => seen.push(s.state));
  await w.core.trigger({ reasons: ['startup'], force: true });
  off();
  await w.core.trigger({ reasons: ['startup'], force: true });
  t.deepEqual(seen, ['syncing', 'fresh']);
});

test('raises RECIPIENTS_CHANGED when the bundle recipients change, until acknowledged', async (t) => {
  const w = world();
  await w.core.trigger({ reasons: ['startup'], force: true });
  t.deepEqual(w.core.status().notices, []);
  w.disk.source = 'sha-b';
  w.disk.recipients = ['age1aaa', 'age1evil'];
  await w.core.trigger({ reasons: ['source'] });
  const notices = w.core.status().notices;
  t.is(notices.length, 1);
  t.is(notices[0]!.code, 'RECIPIENTS_CHANGED');
  t.true(notices[0]!.message.includes('age1evil'));
  t.is(w.core.status().state, 'fresh', 'still syncs');
  t.deepEqual((await w.core.acknowledge()).notices, []);
});

test('a lock (purge) holds until a sync is requested, and forgets the secrets', async (t) => {
  const w = world();
  await w.core.trigger({ reasons: ['startup'], force: true });
  const locked = await w.core.lock('purge');
  t.is(locked.state, 'locked');
  t.deepEqual(w.secrets.at(-1), []);
  t.false(locked.outputs[0]!.intact);
  await w.core.trigger({ reasons: ['source'] });
  t.is(w.core.status().state, 'locked');
  t.is((await w.core.requestSync()).state, 'fresh');
});

test('a lock asked for during a sync answers only after that sync ended, and stays locked with no identity', async (t) => {
  const w = world();
  await w.core.trigger({ reasons: ['startup'], force: true });
  w.disk.source = 'sha-b';
  const release = w.hold();
  const syncing = w.core.trigger({ reasons: ['source'] });
  let answered = false;
  const locking = w.core.lock('purge').then((s) => {
    answered = true;
    return s;
  });
  await new Promise((r) => setTimeout(r, 20));
  t.false(answered, 'purge must not wipe while a publish may still land');
  release();
  await syncing;
  const locked = await locking;
  t.is(locked.state, 'locked');
  t.deepEqual(locked.identity, { source: 'none', recipients: [], opens: null, opensNothing: [] });
  t.deepEqual(w.secrets.at(-1), []);
});

test('never puts a decrypted value in the status document', async (t) => {
  const w = world();
  await w.core.trigger({ reasons: ['startup'], force: true });
  t.false(JSON.stringify(w.core.status()).includes('super-secret-value'));
  t.deepEqual(w.secrets[0], ['super-secret-value']);
});

test('raises RECIPIENTS_CHANGED when .sops.yaml changes its recipients, even with the same bundle', async (t) => {
  const w = world();
  await w.core.trigger({ reasons: ['startup'], force: true });
  w.disk.config = ['age1aaa', 'age1newcomer'];
  await w.core.trigger({ reasons: ['sops-config'] });
  const notice = w.core.status().notices.find((n) => n.code === 'RECIPIENTS_CHANGED');
  t.truthy(notice);
  t.regex(notice!.message, /^\.sops\.yaml.s age recipients changed \(added age1newcomer\)/);
  t.is(w.core.status().state, 'fresh');
});

const DIGEST_X = 'a'.repeat(64);
const DIGEST_Y = 'b'.repeat(64);

test('a data key not accepted keeps the last good outputs and raises DATA_KEY_CHANGED; ack accepts exactly that key and syncs', async (t) => {
  const w = world();
  await w.core.trigger({ reasons: ['startup'], force: true });
  w.setFail(new DataKeyChangedError('config/secrets.enc.yaml', '/repo/config/secrets.enc.yaml', DIGEST_X));
  w.disk.source = 'sha-forged';
  await w.core.trigger({ reasons: ['head'] });
  const held = w.core.status();
  t.is(held.state, 'error');
  t.is(held.lastSync?.error?.code, 'E_UNTRUSTED');
  t.is(held.secretsVersion, 'v-sha-a', 'the last good outputs stay');
  t.deepEqual(held.notices.map((n) => n.code), ['DATA_KEY_CHANGED']);
  t.regex(held.notices[0]!.message, /status --ack/);
  t.false(JSON.stringify(held).includes(DIGEST_X), 'the digest never leaves the process');

  // the checkout moves on to another unaccepted key before the person answers: ack accepts that one, the one now pending
  w.setFail(new DataKeyChangedError('config/secrets.enc.yaml', '/repo/config/secrets.enc.yaml', DIGEST_Y));
  await w.core.trigger({ reasons: ['head'] });
  const acked = await w.core.acknowledge();
  t.deepEqual(w.accepted, [{ bundlePath: '/repo/config/secrets.enc.yaml', digest: DIGEST_Y }]);
  t.is(acked.state, 'fresh');
  t.is(acked.secretsVersion, 'v-sha-forged');
  t.deepEqual(acked.notices, []);
});

test('DATA_KEY_CHANGED goes away when an accepted bundle is checked out again, and ack then accepts nothing', async (t) => {
  const w = world();
  await w.core.trigger({ reasons: ['startup'], force: true });
  w.setFail(new DataKeyChangedError('config/secrets.enc.yaml', '/repo/config/secrets.enc.yaml', DIGEST_X));
  await w.core.trigger({ reasons: ['head'] });
  t.deepEqual(w.core.status().notices.map((n) => n.code), ['DATA_KEY_CHANGED']);
  w.setFail(null);
  await w.core.trigger({ reasons: ['head'] });
  t.deepEqual(w.core.status().notices, []);
  await w.core.acknowledge();
  t.deepEqual(w.accepted, []);
});

test('a bundle that lost its age recipients raises RECIPIENTS_CHANGED, not a silent switch of engine', async (t) => {
  const w = world();
  await w.core.trigger({ reasons: ['startup'], force: true });
  w.setFail(new AppError('E_UNTRUSTED', 'the bundle has no age recipient (key types: hc_vault)', { details: { keyTypes: ['hc_vault'], bundleRecipients: [] } }));
  w.disk.source = 'sha-vault';
  await w.core.trigger({ reasons: ['source'] });
  const s = w.core.status();
  t.is(s.state, 'error');
  t.is(s.notices.length, 1);
  t.is(s.notices[0]!.code, 'RECIPIENTS_CHANGED');
  t.regex(s.notices[0]!.message, /removed age1aaa/);
  await w.core.trigger({ reasons: ['source'] });
  t.is(w.core.status().notices.length, 1, 'one notice however many retries');
});

/** Polls until `ok()` holds (generous timeout: conditions, not timings, are asserted). */
async function until(ok: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a bundle read mid-write (its MAC fails) is neither published nor reported when the rest of it lands within the window', async (t) => {
  const w = world({ confirmFailureMs: 60_000 });
  await w.core.trigger({ reasons: ['startup'], force: true });
  const states: string[] = [];
  w.core.onStatusChange((s) => states.push(s.state));
  // the first half: garbage to the engine
  w.disk.source = 'sha-half';
  w.setFail(new AppError('E_MAC_MISMATCH', 'MAC mismatch in config/secrets.enc.yaml'));
  await w.core.trigger({ reasons: ['source'] });
  let s = w.core.status();
  t.is(s.state, 'stale', 'not fresh: the bundle on disk is not what the outputs show');
  t.true(s.lastSync!.ok, 'no failure reported yet');
  t.is(s.lastSync!.error, null);
  t.is(s.secretsVersion, 'v-sha-a', 'the last good outputs stay');
  t.deepEqual(w.disk.outputs, ['env-of-sha-a', 'console-of-sha-a'], 'nothing published');
  // the second half lands: its event syncs the whole bundle
  w.disk.source = 'sha-b';
  w.setFail(null);
  await w.core.trigger({ reasons: ['source'] });
  s = w.core.status();
  t.is(s.state, 'fresh');
  t.is(s.secretsVersion, 'v-sha-b');
  t.false(states.includes('error'), `states: ${states.join(' → ')}`);
  w.core.close();
});

test('a bundle that keeps failing its MAC is reported once the quiet window passes, the outputs kept', async (t) => {
  const w = world({ confirmFailureMs: 30 });
  await w.core.trigger({ reasons: ['startup'], force: true });
  w.disk.source = 'sha-tampered';
  w.setFail(new AppError('E_MAC_MISMATCH', 'MAC mismatch in config/secrets.enc.yaml'));
  await w.core.trigger({ reasons: ['source'] });
  t.is(w.core.status().state, 'stale');
  await until(() => w.core.status().state === 'error', 'the failure to be reported');
  const s = w.core.status();
  t.is(s.lastSync?.error?.code, 'E_MAC_MISMATCH');
  t.false(s.fresh);
  t.true(s.outputs[0]!.intact, 'outputs are still the good ones');
  t.is(s.secretsVersion, 'v-sha-a');
  t.deepEqual(w.disk.outputs, ['env-of-sha-a', 'console-of-sha-a']);
  w.core.close();
});

test('parse failures that go on through a stream of changes are reported after the longest deferral', async (t) => {
  let now = Date.parse('2026-11-28T12:00:00Z');
  const w = world({ confirmFailureMs: 60_000, maxDeferMs: 2000, now: () => new Date(now) });
  await w.core.trigger({ reasons: ['startup'], force: true });
  w.disk.source = 'sha-garbage';
  w.setFail(new AppError('E_PARSE', 'not YAML'));
  for (let i = 0; i < 3; i++) {
    await w.core.trigger({ reasons: ['source'] });
    t.is(w.core.status().state, 'stale', `change ${i} is retried, not reported`);
    now += 500;
  }
  now += 1000;
  await w.core.trigger({ reasons: ['source'] });
  t.is(w.core.status().state, 'error');
  t.is(w.core.status().lastSync?.error?.code, 'E_PARSE');
  w.core.close();
});

test('a requested sync reports a MAC failure at once, and other failures are never held back', async (t) => {
  const w = world({ confirmFailureMs: 60_000 });
  await w.core.trigger({ reasons: ['startup'], force: true });
  w.disk.source = 'sha-b';
  w.setFail(new AppError('E_MAC_MISMATCH', 'MAC mismatch'));
  const s = await w.core.requestSync();
  t.is(s.state, 'error');
  t.is(s.lastSync?.error?.code, 'E_MAC_MISMATCH');
  w.setFail(new AppError('E_CONFLICT', 'conflict markers'));
  w.disk.source = 'sha-c';
  await w.core.trigger({ reasons: ['source'] });
  t.is(w.core.status().state, 'conflict');
  w.core.close();
});

test('on close a running sync is awaited by idle(), the queued one is dropped, and later triggers run nothing', async (t) => {
  const w = world();
  await w.core.trigger({ reasons: ['startup'], force: true });
  const release = w.hold();
  w.disk.source = 'sha-b';
  const running = w.core.trigger({ reasons: ['source'], force: true });
  const queued = w.core.trigger({ reasons: ['source'], force: true });
  w.core.close();
  await queued;
  let idle = false;
  const waiting = w.core.idle().then(() => (idle = true));
  await Promise.resolve();
  t.false(idle, 'idle waits for the sync in progress');
  release();
  await Promise.all([running, waiting]);
  t.is(w.core.stats.syncs, 2, 'the queued run never started');
  await w.core.trigger({ reasons: ['source'], force: true });
  t.is(w.core.stats.syncs, 2);
});

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('bytes that are not HEAD\'s get their provenance asked once more after the confirm window, once per bundle', async (t) => {
  const w = world({ confirmFailureMs: 20 });
  // a sync that ran between git releasing the index and moving HEAD: no commit for these bytes
  w.disk.commit = null;
  w.disk.dirty = true;
  await w.core.trigger({ reasons: ['startup'], force: true });
  t.is(w.core.status().source.commit, null);
  // meanwhile git moved HEAD, and its event was lost: the recheck names the commit
  w.disk.commit = 'c0ffee';
  w.disk.dirty = false;
  await delay(80);
  await w.core.idle();
  t.is(w.core.stats.syncs, 2);
  t.is(w.core.status().source.commit, 'c0ffee');
  t.true(w.core.status().fresh);

  // a real local edit: one recheck for this bundle, then no more
  w.disk.source = 'sha-edited';
  w.disk.commit = null;
  w.disk.dirty = true;
  await w.core.trigger({ reasons: ['source'] });
  await delay(80);
  await w.core.idle();
  await delay(80);
  t.is(w.core.stats.syncs, 4);
  t.is(w.core.status().source.dirty, true);
});

test('no recheck when a sync since has named the commit, nor after close', async (t) => {
  const w = world({ confirmFailureMs: 30 });
  w.disk.commit = null;
  w.disk.dirty = true;
  await w.core.trigger({ reasons: ['startup'], force: true });
  // the HEAD event's sync comes first
  w.disk.commit = 'c0ffee';
  w.disk.dirty = false;
  await w.core.trigger({ reasons: ['head'] });
  await delay(90);
  await w.core.idle();
  t.is(w.core.stats.syncs, 2);

  const closed = world({ confirmFailureMs: 30 });
  closed.disk.commit = null;
  closed.disk.dirty = true;
  await closed.core.trigger({ reasons: ['startup'], force: true });
  closed.core.close();
  await delay(90);
  t.is(closed.core.stats.syncs, 1);
});
