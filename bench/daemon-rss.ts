/**
 * Daemon memory over many syncs (bench/results/daemon-rss.json and .md): 1,000 syncs alternating
 * two bundles (the file rewritten, as an editor or a checkout does, then an IPC `sync`: rewrites
 * this close together are a storm, which the settle window coalesces with a growing wait, the
 * point of it but not of this bench), RSS and
 * heap sampled every 100 syncs after a forced GC in the daemon (bench/gc-hook.ts, `--expose-gc`
 * on the daemon in this bench only). Target: RSS flat, within ±10 % from the end of warm-up (the
 * first fifth) to the last sample; the growth from the first sync is reported beside it.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { encrypt } from '../src/sops/index.js';
import { sync as ipcSync } from '../src/ipc/client.js';
import { editBundle, within } from './daemon.js';
import { ROOT, benchRepo, machine, round, stopChild, table, untilFresh, writeResults } from './util.js';

const CLI = path.join(ROOT, 'dist', 'src', 'main.js');
const GC_HOOK = path.join(ROOT, 'dist', 'bench', 'gc-hook.js');

interface Sample {
  syncs: number;
  rssMb: number;
  heapUsedMb: number;
  /** What V8 holds from the OS for its heap (used or not). */
  heapTotalMb: number;
  externalMb: number;
}

export async function runDaemonRssBench(opts: { syncs?: number; every?: number; entries?: number } = {}): Promise<Record<string, unknown>> {
  const total = opts.syncs ?? 1000;
  const every = opts.every ?? 100;
  const entries = opts.entries ?? 50;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcps-bench-rss-'));
  const socketPath = path.join(dir, 'd.sock');
  const gcOut = path.join(dir, 'gc.json');
  let child: ReturnType<typeof spawn> | null = null;
  try {
    const { identity, recipient, repo, bundle } = await benchRepo(dir);
    const doc = (v: string): Record<string, unknown> => {
      const d: Record<string, unknown> = { MCP_SECRETS_VERSION: v };
      for (let i = 0; i < entries; i++) d[`SERVICE_${i}_TOKEN`] = `tok-bench-${v}-${i}-${'x'.repeat(24)}`;
      return d;
    };
    const bundleA = await encrypt(doc('A'), { format: 'yaml', recipients: [recipient] });
    const bundles: Record<'A' | 'B', Uint8Array> = { A: bundleA, B: await editBundle(bundleA, identity, recipient, doc('B')) };
    await writeFile(bundle, bundles.A);

    const env = { PATH: process.env.PATH ?? '', HOME: dir, SOPS_AGE_KEY: identity, MCP_SECRETS_KEYCHAIN: 'none', MCP_SECRETS_BENCH_GC_OUT: gcOut };
    child = spawn(process.execPath, ['--expose-gc', '--import', GC_HOOK, CLI, 'daemon', '--repo', repo, '--home', path.join(dir, 'home'), '--socket', socketPath, '--log-level', 'info'], { env, stdio: 'ignore' });
    const pid = child.pid!;
    await untilFresh(socketPath);

    let seq = 0;
    const sample = async (syncs: number): Promise<Sample> => {
      const want = ++seq;
      process.kill(pid, 'SIGUSR2');
      for (let i = 0; i < 400; i++) {
        // missing, or caught mid-write: not ready yet
        const m = await readFile(gcOut, 'utf8')
          .then((t) => JSON.parse(t) as { seq: number; rss: number; heapUsed: number; heapTotal: number; external: number })
          .catch(() => null);
        if (m && m.seq >= want) return { syncs, rssMb: round(m.rss / 2 ** 20, 1), heapUsedMb: round(m.heapUsed / 2 ** 20, 1), heapTotalMb: round(m.heapTotal / 2 ** 20, 1), externalMb: round(m.external / 2 ** 20, 1) };
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('no memory sample from the daemon (is bench/gc-hook.js built?)');
    };

    const samples: Sample[] = [await sample(0)];
    let current: 'A' | 'B' = 'A';
    for (let i = 1; i <= total; i++) {
      const target: 'A' | 'B' = current === 'A' ? 'B' : 'A';
      await writeFile(bundle, bundles[target]);
      const synced = await within(ipcSync({ socketPath, timeoutMs: 20_000 }), 20_000, `sync ${i}`);
      if (!synced.fresh || synced.secretsVersion !== target) throw new Error(`sync ${i}: ${synced.state}, version ${String(synced.secretsVersion)} (wanted ${target})`);
      current = target;
      if (i % every === 0) samples.push(await sample(i));
    }

    // the first fifth of the run warms up (V8 grows its young generation from 16 to 32 MB, the JIT
    // compiles, malloc's arenas fill): flatness is measured from there, growth from the start noted too
    const base = samples.find((s) => s.syncs >= total / 5) ?? samples[0]!;
    const last = samples.at(-1)!;
    const after = samples.filter((s) => s.syncs >= base.syncs);
    const growthPct = round(((last.rssMb - base.rssMb) / base.rssMb) * 100, 1);
    const maxDeviationPct = round(Math.max(...after.map((s) => Math.abs(s.rssMb - base.rssMb) / base.rssMb)) * 100, 1);
    const fromStartPct = round(((last.rssMb - samples[0]!.rssMb) / samples[0]!.rssMb) * 100, 1);
    const result = {
      machine: machine(),
      loadavg: os.loadavg().map((l) => round(l, 2)),
      syncs: total,
      entries,
      samples,
      flatFrom: base.syncs,
      rssGrowthPct: growthPct,
      rssMaxDeviationPct: maxDeviationPct,
      rssGrowthFromFirstSyncPct: fromStartPct,
      target: 'RSS within ±10 % over the run, after warm-up',
    };
    const rows = samples.map((s) => [s.syncs, s.rssMb, s.heapUsedMb, s.heapTotalMb, s.externalMb]);
    await writeResults(
      'daemon-rss',
      result,
      `# daemon memory over ${total} syncs\n\n${table(['syncs', 'RSS (MB)', 'heap used (MB)', 'heap total (MB)', 'external (MB)'], rows)}\n\nFrom sync ${base.syncs} (after warm-up) to ${last.syncs}: RSS ${growthPct} %, at most ${maxDeviationPct} % away (target ±10 %). From the first sync: ${fromStartPct} % (warm-up: V8's young generation grows from 16 to 32 MB, JIT code, malloc arenas). Sampled after a forced GC (bench only).\n\nMachine: ${JSON.stringify(result.machine)}, load ${JSON.stringify(result.loadavg)}\n`,
    );
    return result;
  } finally {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  }
}
