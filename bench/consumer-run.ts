/**
 * `mcp-secrets run`'s start-up overhead: `run -- node -e 0` against `node -e 0` started directly,
 * both as processes in a minimal environment (PATH, HOME, and MCP_SECRETS_KEYCHAIN=none so the
 * identity comes from sops's default key file under HOME), interleaved, median of 20.
 * A 12-entry bundle, a profile of two; and `sync` of the same bundle and config, interleaved (the
 * issue's yardstick: run adds at most a sync's time). Writes bench/results/run.json and run.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { encrypt } from '../src/sops/index.js';
import { ROOT, benchRepo, machine, median, round, table, writeResults } from './util.js';

function timeProcess(args: string[], env: Record<string, string>): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr.toString()}`);
  return ms;
}

export async function runConsumerBench(opts: { runs?: number } = {}): Promise<Record<string, unknown>> {
  const runs = opts.runs ?? 20;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcps-bench-run-'));
  try {
    const { identity, recipient, repo, bundle } = await benchRepo(dir);
    const doc: Record<string, unknown> = { MCP_SECRETS_VERSION: 'bench', gemini: { api_key: 'g'.repeat(39) }, GOOGLE_API_KEY: 'k'.repeat(39) };
    for (let i = 0; i < 9; i++) doc[`SECRET_${i}`] = `value-${i}-${'x'.repeat(32)}`;
    await writeFile(bundle, await encrypt(doc, { format: 'yaml', recipients: [recipient] }));
    await writeFile(path.join(repo, '.mcp-secrets.yaml'), 'version: 1\nprofiles:\n  gemini: {providers: [gemini]}\n');
    const keys = path.join(dir, '.config', 'sops', 'age', 'keys.txt');
    await mkdir(path.dirname(keys), { recursive: true });
    await writeFile(keys, `${identity}\n`, { mode: 0o600 });
    const env = { PATH: process.env.PATH ?? '', HOME: dir, MCP_SECRETS_KEYCHAIN: 'none' };
    const cli = path.join(ROOT, 'dist', 'src', 'main.js');
    const viaRun = [cli, 'run', '--repo', repo, '--profile', 'gemini', '--', process.execPath, '-e', '0'];

    // the goal's yardstick: a sync of the same bundle and config, as a process (its own home)
    const viaSync = [cli, 'sync', '--repo', repo, '--home', path.join(dir, 'sync-home')];

    timeProcess(viaRun, env); // first use: pins the data key and records the config
    timeProcess([...viaSync, '--accept-config'], env);
    timeProcess(viaSync, env);
    const direct: number[] = [];
    const through: number[] = [];
    const synced: number[] = [];
    for (let i = 0; i < runs; i++) {
      direct.push(timeProcess(['-e', '0'], env));
      through.push(timeProcess(viaRun, env));
      synced.push(timeProcess(viaSync, env));
    }
    const result = {
      machine: machine(),
      runs,
      directMs: round(median(direct)),
      runMs: round(median(through)),
      overheadMs: round(median(through) - median(direct)),
      syncMs: round(median(synced)),
      goal: 'run adds at most the time of a sync of the same bundle: overheadMs <= syncMs',
      note: 'median wall time of the whole process; run decrypts (MAC checked), checks the pin and the repo config, selects and starts the child',
    };
    await writeResults(
      'run',
      result,
      `# run's overhead (median of ${runs}, minimal environment)\n\n` +
        table(['what', 'median wall ms'], [
          ['node -e 0', result.directMs],
          ['mcp-secrets run --profile gemini -- node -e 0', result.runMs],
          ['overhead', result.overheadMs],
          ['mcp-secrets sync of the same bundle and config (the goal: overhead ≤ this)', result.syncMs],
        ]),
    );
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
