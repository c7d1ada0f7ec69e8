/**
 * The issue-14 goals as paired, interleaved ratios measured in ONE run, with the machine's load:
 * - `sync` as a process (1,000 entries) vs a Node script doing the same job with sops-age
 *   (decrypt, no MAC check, write .env 0600): goal <= 0.5;
 * - `status --json` and `tray` (no daemon: they connect, fail and exit 3) vs `node -e 0`: goal <= 1.5;
 * - the engine in process, flat and nested 1,000 entries, vs sops-age on the same bytes: >= 3x, < 20 ms.
 * Every child runs in a minimal environment (`env -i PATH HOME`): NODE_EXTRA_CA_CERTS alone adds
 * ~30 ms to each Node start here. `--baseline DIR` adds another build (a checkout with dist/) to
 * the same interleaving, for before/after tables. Writes bench/results/startup.{json,md}.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { decryptSops } from 'sops-age';
import { decrypt, encrypt } from '../src/sops/index.js';
import { ROOT, benchRepo, machine, median, round, table, writeResults } from './util.js';

export interface StartupBenchOptions {
  runs?: number;
  entries?: number;
  /** Another checkout (with dist/) measured in the same interleaving. */
  baseline?: string;
  /** false: do not write bench/results (the CI regression check). Default true. */
  write?: boolean;
}

interface Candidate {
  name: string;
  args: string[];
  cwd?: string;
}

function loadavg(): number[] {
  return os.loadavg().map((n) => round(n, 2));
}

/** Runs every candidate once per round, in a rotating order; returns the wall times per name. */
function interleave(candidates: Candidate[], env: Record<string, string>, runs: number, okCodes: Record<string, number> = {}): Record<string, number[]> {
  const times: Record<string, number[]> = Object.fromEntries(candidates.map((c) => [c.name, []]));
  for (let round = -1; round < runs; round++) {
    for (let k = 0; k < candidates.length; k++) {
      const c = candidates[(k + Math.max(round, 0)) % candidates.length] as Candidate;
      const t0 = performance.now();
      const r = spawnSync(process.execPath, c.args, { env, cwd: c.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
      const ms = performance.now() - t0;
      if (r.status !== (okCodes[c.name] ?? 0)) throw new Error(`${c.name} exited ${r.status}: ${r.stderr.toString().slice(0, 500)}`);
      if (round >= 0) times[c.name]?.push(ms);
    }
  }
  return times;
}

function bundleDoc(entries: number, nested: boolean): Record<string, unknown> {
  const doc: Record<string, unknown> = { MCP_SECRETS_VERSION: 'bench' };
  for (let i = 0; i < entries - 1; i++) {
    const value = `value-${i}-${'x'.repeat(32)}`;
    doc[nested ? `service_${i}` : `SECRET_${i}`] = nested ? { api_key: value } : value;
  }
  return doc;
}

async function engineRatios(identity: string, recipient: string, entries: number, runs: number): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (const nested of [false, true]) {
    const text = Buffer.from(await encrypt(bundleDoc(entries, nested), { format: 'yaml', recipients: [recipient] })).toString('utf8');
    const ours: number[] = [];
    const theirs: number[] = [];
    const ratios: number[] = [];
    await decrypt(text, { format: 'yaml', identities: [identity] });
    await decryptSops(text, { secretKey: identity, fileType: 'yaml' });
    for (let i = 0; i < runs; i++) {
      let t0 = performance.now();
      await decrypt(text, { format: 'yaml', identities: [identity] });
      const a = performance.now() - t0;
      t0 = performance.now();
      await decryptSops(text, { secretKey: identity, fileType: 'yaml' });
      const b = performance.now() - t0;
      ours.push(a);
      theirs.push(b);
      ratios.push(b / a);
    }
    rows.push({ shape: nested ? 'nested' : 'flat', entries, bytes: text.length, oursMs: round(median(ours)), sopsAgeMs: round(median(theirs)), speedup: round(median(ratios)), loadavg: loadavg() });
  }
  return rows;
}

export async function runStartupBench(opts: StartupBenchOptions = {}): Promise<Record<string, unknown>> {
  const runs = opts.runs ?? 15;
  const entries = opts.entries ?? 1000;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcps-bench-startup-'));
  try {
    const { identity, recipient, repo, bundle } = await benchRepo(dir);
    await writeFile(bundle, await encrypt(bundleDoc(entries, false), { format: 'yaml', recipients: [recipient] }));
    for (const args of [['init', '-q'], ['add', '.'], ['-c', 'user.email=b@e', '-c', 'user.name=b', 'commit', '-qm', 'bundle']]) {
      spawnSync('git', ['-C', repo, ...args], { stdio: 'ignore' });
    }
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, SOPS_AGE_KEY: identity, MCP_SECRETS_KEYCHAIN: 'none' };

    const peer = path.join(dir, 'sops-age-sync.mjs');
    await writeFile(
      peer,
      `import { decryptSops } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'node_modules', 'sops-age', 'dist', 'index.js')).href)};\n` +
        `import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';\n` +
        `const doc = await decryptSops(readFileSync(${JSON.stringify(bundle)}, 'utf8'), { secretKey: process.env.SOPS_AGE_KEY, fileType: 'yaml' });\n` +
        `const lines = Object.entries(doc).map(([k, v]) => k + '=' + JSON.stringify(String(v)));\n` +
        `mkdirSync(${JSON.stringify(path.join(dir, 'peer'))}, { recursive: true, mode: 0o700 });\n` +
        `writeFileSync(${JSON.stringify(path.join(dir, 'peer', '.env'))}, lines.join('\\n') + '\\n', { mode: 0o600 });\n`,
    );
    const builds: Array<[string, string]> = [['ours', path.join(ROOT, 'dist', 'src', 'main.js')]];
    if (opts.baseline) builds.push(['baseline', path.join(path.resolve(opts.baseline), 'dist', 'src', 'main.js')]);
    const socket = path.join(dir, 'no-daemon.sock');

    const syncCandidates: Candidate[] = [{ name: 'sops-age peer', args: [peer] }];
    for (const [name, cli] of builds) syncCandidates.push({ name: `${name} sync`, args: [cli, 'sync', '--repo', repo, '--home', path.join(dir, `home-${name}`), '--no-cache-identity'] });
    const loadBefore = loadavg();
    const syncTimes = interleave(syncCandidates, env, runs);

    const statusCandidates: Candidate[] = [{ name: 'node -e 0', args: ['-e', '0'] }];
    const exit3: Record<string, number> = {};
    for (const [name, cli] of builds) {
      statusCandidates.push({ name: `${name} status --json`, args: [cli, 'status', '--json', '--socket', socket] }, { name: `${name} tray`, args: [cli, 'tray', '--socket', socket] });
      exit3[`${name} status --json`] = 3;
      exit3[`${name} tray`] = 3;
    }
    const statusTimes = interleave(statusCandidates, env, runs * 2, exit3);
    const loadAfter = loadavg();

    const ratio = (times: Record<string, number[]>, a: string, b: string): number => round(median(times[a] ?? []) / median(times[b] ?? []), 3);
    const processes = [
      ...Object.entries(syncTimes).map(([name, t]) => ({ name, medianMs: round(median(t)), ratio: name === 'sops-age peer' ? 1 : ratio(syncTimes, name, 'sops-age peer'), against: 'sops-age peer', goal: name === 'sops-age peer' ? null : '<= 0.5' })),
      ...Object.entries(statusTimes).map(([name, t]) => ({ name, medianMs: round(median(t)), ratio: name === 'node -e 0' ? 1 : ratio(statusTimes, name, 'node -e 0'), against: 'node -e 0', goal: name === 'node -e 0' ? null : '<= 1.5' })),
    ];
    const engine = await engineRatios(identity, recipient, entries, runs * 2);
    const result = {
      machine: machine(),
      loadavg: { before: loadBefore, after: loadAfter, engine: engine.map((r) => r.loadavg) },
      entries,
      runs,
      processes,
      engine,
      note: 'processes: medians of interleaved runs in env -i PATH HOME; status/tray run with no daemon (connect, fail, exit 3). engine: medians of paired runs in this process, speedup = median of per-pair sops-age/ours.',
    };
    const md = [
      `# start-up and engine ratios (${entries} entries, ${runs} rounds; ${String(process.version)}; load ${loadBefore.join(' ')} → ${loadAfter.join(' ')})`,
      '',
      table(['process', 'median ms', 'ratio', 'against', 'goal'], processes.map((p) => [p.name, p.medianMs, p.ratio, p.against, p.goal ?? ''])),
      '',
      table(['engine', 'bytes', 'ours ms', 'sops-age ms', 'speed-up (goal >= 3, ours < 20 ms idle)', 'load'], engine.map((r) => [String(r.shape), String(r.bytes), String(r.oursMs), String(r.sopsAgeMs), String(r.speedup), (r.loadavg as number[]).join(' ')])),
      '',
      result.note,
    ].join('\n');
    if (opts.write !== false) await writeResults('startup', result, md);
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--baseline');
  runStartupBench({ baseline: at >= 0 ? args[at + 1] : undefined, runs: args.includes('--quick') ? 5 : undefined }).then(
    (r) => console.log(JSON.stringify(r, null, 1)),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
