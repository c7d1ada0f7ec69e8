/**
 * The daemon as users feel it (bench/results/daemon.json and daemon.md):
 * - change→fresh latency: a `git checkout` flipping the bundle, until the daemon reports the new
 *   version fresh (p50, p95 over N checkouts, a pause between them: a lone change is synced as
 *   soon as git's index lock is gone), timed from the start of the git process, and apart from
 *   its exit (the part the daemon controls: it acts once git has released its index lock);
 * - IPC `status` round trip p50/p99 with 1 and 50 concurrent clients, and requests per second;
 * - idle CPU seconds and RSS of the daemon over a quiet period;
 * - cold `mcp-secrets status` wall time (a new process each time).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { encrypt, fromPlain, updateRecipients, type TreeMap } from '../src/sops/index.js';
import { subscribe } from '../src/ipc/client.js';
import { ROOT, benchRepo, machine, median, percentile, round, stopChild, table, untilFresh, writeResults } from './util.js';

const CLI = path.join(ROOT, 'dist', 'src', 'main.js');
const GIT_ENV = { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@x.invalid', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@x.invalid' };

function git(repo: string, ...args: string[]): void {
  const r = spawnSync('git', ['-C', repo, ...args], { env: { ...process.env, ...GIT_ENV } });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr.toString()}`);
}

function procStat(pid: number): { cpuSeconds: number; rssMb: number } {
  const stat = spawnSync('cat', [`/proc/${pid}/stat`]).stdout.toString().split(') ')[1]!.split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  const rssPages = Number(stat[21]);
  return { cpuSeconds: ticks / 100, rssMb: (rssPages * 4096) / (1024 * 1024) };
}

/** A raw client on the wire format: the cheapest way to measure the server, not the client library. */
function rawClient(socketPath: string): Promise<{ status(): Promise<number>; close(): void }> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(socketPath);
    let buf = '';
    let pending: ((ms: number) => void) | null = null;
    let t0 = 0;
    let n = 0;
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\f')) >= 0) {
        buf = buf.slice(i + 1);
        const done = pending;
        pending = null;
        done?.(performance.now() - t0);
      }
    });
    sock.once('error', reject);
    sock.once('connect', () =>
      resolve({
        status: () =>
          new Promise<number>((res) => {
            pending = res;
            t0 = performance.now();
            sock.write(JSON.stringify({ type: 'status', data: { id: ++n } }) + '\f');
          }),
        close: () => sock.destroy(),
      }),
    );
  });
}

/** `sops edit`: the same data key, the document replaced. */
export async function editBundle(bundle: Uint8Array, identity: string, recipient: string, doc: Record<string, unknown>): Promise<Uint8Array> {
  const next = fromPlain(doc) as TreeMap;
  return updateRecipients(bundle, {
    format: 'yaml',
    identities: [identity],
    recipients: [recipient],
    edit: (tree) => {
      tree.clear();
      for (const [k, v] of next) tree.set(k, v);
    },
  });
}

/** Resolves when `ok` holds, rejects after `ms` (a bench must fail, not hang). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)))]).finally(() => clearTimeout(timer));
}

export async function runDaemonBench(opts: { checkouts?: number; idleSeconds?: number; ipcRequests?: number; statusRuns?: number } = {}): Promise<Record<string, unknown>> {
  const checkouts = opts.checkouts ?? 50;
  const idleSeconds = opts.idleSeconds ?? 60;
  const ipcRequests = opts.ipcRequests ?? 2000;
  const statusRuns = opts.statusRuns ?? 20;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcps-bench-daemon-'));
  const socketPath = path.join(dir, 'd.sock');
  let child: ReturnType<typeof spawn> | null = null;
  try {
    const { identity, recipient, repo, bundle } = await benchRepo(dir);
    git(repo, 'init', '-q', '-b', 'main');
    const doc = (v: string): Record<string, unknown> => {
      const d: Record<string, unknown> = { MCP_SECRETS_VERSION: v };
      for (let i = 0; i < 20; i++) d[`OPENAI_KEY_${i}`] = `sk-bench-${v}-${i}`;
      return d;
    };
    const bundleA = await encrypt(doc('A'), { format: 'yaml', recipients: [recipient] });
    await writeFile(bundle, bundleA);
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'A');
    git(repo, 'checkout', '-q', '-b', 'b');
    // B is an edit of A (same data key, as `sops edit` makes it): a new data key would be held back as DATA_KEY_CHANGED
    await writeFile(bundle, await editBundle(bundleA, identity, recipient, doc('B')));
    git(repo, 'commit', '-q', '-am', 'B');

    const env = { PATH: process.env.PATH ?? '', HOME: dir, SOPS_AGE_KEY: identity, MCP_SECRETS_KEYCHAIN: 'none', ...GIT_ENV };
    child = spawn(process.execPath, [CLI, 'daemon', '--repo', repo, '--home', path.join(dir, 'home'), '--socket', socketPath, '--log-level', 'warn'], { env, stdio: 'ignore' });
    const status = await untilFresh(socketPath);

    // change → fresh
    const latencies: number[] = [];
    // the part of each latency spent before the sync that published it started (waiting, settling)
    const beforeSync: number[] = [];
  // the `git checkout` process itself (its exit is when git's index lock is gone: the daemon acts after it)
  const gitMs: number[] = [];
    let current = status.secretsVersion;
    for (let i = 0; i < checkouts; i++) {
      const target = current === 'B' ? 'A' : 'B';
      let syncMs = 0;
      const fresh = new Promise<number>((resolve) => {
        const sub = subscribe(
          (s) => {
            if (s.fresh && s.secretsVersion === target) {
              sub.close();
              syncMs = s.lastSync?.durationMs ?? 0;
              resolve(performance.now());
            }
          },
          { socketPath },
        );
      });
      // a pause between changes, as between real pulls and checkouts (a storm is a different test)
      await new Promise((r) => setTimeout(r, 250));
      const t0 = performance.now();
      git(repo, 'checkout', '-q', target === 'A' ? 'main' : 'b');
      gitMs.push(performance.now() - t0);
      latencies.push((await within(fresh, 20_000, `checkout ${i} fresh`)) - t0);
      beforeSync.push(latencies.at(-1)! - syncMs);
      current = target;
    }

    // IPC round trips, once the syncs that follow the last checkout (HEAD, the ref) are done:
    // this measures the server, not a sync running beside it
    await new Promise((r) => setTimeout(r, 1500));
    const ipc: Record<string, unknown>[] = [];
    for (const clients of [1, 50]) {
      const conns = await Promise.all(Array.from({ length: clients }, () => rawClient(socketPath)));
      const times: number[] = [];
      const perClient = Math.ceil(ipcRequests / clients);
      const t0 = performance.now();
      await Promise.all(conns.map(async (c) => {
        for (let i = 0; i < perClient; i++) times.push(await c.status());
      }));
      const wall = performance.now() - t0;
      conns.forEach((c) => c.close());
      ipc.push({ clients, requests: times.length, p50Ms: round(percentile(times, 50), 3), p99Ms: round(percentile(times, 99), 3), requestsPerSecond: Math.round(times.length / (wall / 1000)) });
    }

    // idle
    await new Promise((r) => setTimeout(r, 2000));
    const before = procStat(child.pid!);
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const after = procStat(child.pid!);
    const idleCpuPerMinute = ((after.cpuSeconds - before.cpuSeconds) / idleSeconds) * 60;

    // cold status
    const statusTimes: number[] = [];
    for (let i = 0; i < statusRuns; i++) {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [CLI, 'status', '--json', '--socket', socketPath], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      statusTimes.push(performance.now() - t0);
      if (r.status !== 0) throw new Error(`status failed: ${r.stderr.toString()}`);
    }

    const afterGit = latencies.map((l, i) => l - gitMs[i]!);
    const result = {
      machine: machine(),
      loadavg: os.loadavg().map((l) => round(l, 2)),
      changeToFresh: { checkouts, p50Ms: round(percentile(latencies, 50), 1), p95Ms: round(percentile(latencies, 95), 1), gitP50Ms: round(percentile(gitMs, 50), 1), afterGitP50Ms: round(percentile(afterGit, 50), 1), afterGitP95Ms: round(percentile(afterGit, 95), 1), beforeSyncP50Ms: round(percentile(beforeSync, 50), 1), syncP50Ms: round(percentile(latencies.map((l, i) => l - beforeSync[i]!), 50), 1) },
      ipc,
      idle: { seconds: idleSeconds, cpuSecondsPerMinute: round(idleCpuPerMinute, 4), rssMb: round(after.rssMb, 1) },
      statusCold: { runs: statusRuns, medianMs: round(median(statusTimes), 1) },
      targets: { changeToFreshP50Ms: 40, changeToFreshP95Ms: 100, ipcP99MsAt50: 2, idleCpuSecondsPerMinute: 0.05, rssMb: 80, statusMedianMs: 150 },
    };
    const rows: (string | number)[][] = [
      ['change→fresh p50 / p95 (ms)', `${result.changeToFresh.p50Ms} / ${result.changeToFresh.p95Ms}`, '≤ 40 / ≤ 100'],
      ['  of which: the `git checkout` process, p50 (ms)', result.changeToFresh.gitP50Ms, ''],
      ['  from git\'s exit to fresh, p50 / p95 (ms)', `${result.changeToFresh.afterGitP50Ms} / ${result.changeToFresh.afterGitP95Ms}`, ''],
      ['  the sync itself (syncOnce in the daemon), p50 (ms)', result.changeToFresh.syncP50Ms, ''],
      ...ipc.map((r) => [`IPC status p50 / p99 (ms), ${String(r.clients)} client(s)`, `${String(r.p50Ms)} / ${String(r.p99Ms)} (${String(r.requestsPerSecond)} req/s)`, r.clients === 50 ? 'p99 ≤ 2' : '']),
      [`idle CPU (s per minute, over ${idleSeconds} s)`, result.idle.cpuSecondsPerMinute, '≤ 0.05'],
      ['RSS (MB)', result.idle.rssMb, '≤ 80'],
      ['`mcp-secrets status` cold, median (ms)', result.statusCold.medianMs, '≤ 150'],
    ];
    await writeResults('daemon', result, `# daemon\n\n${table(['measure', 'result', 'target'], rows)}\n\nMachine: ${JSON.stringify(result.machine)}, load ${JSON.stringify(result.loadavg)} (a shared 2-core machine: latency percentiles move with the load)\n`);
    return result;
  } finally {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  }
}
