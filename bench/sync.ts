/**
 * Full `mcp-secrets sync` of a 1,000-entry bundle as a process (median wall time), against the
 * same decrypt done by the sops-age package in a script (also a process, also median).
 * Writes bench/results/sync.json and sync.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { encrypt } from '../src/sops/index.js';
import { ROOT, benchRepo, machine, median, round, table, writeResults } from './util.js';

function timeProcess(args: string[], env: Record<string, string>, cwd?: string): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr.toString()}`);
  return ms;
}

export async function runSyncBench(opts: { runs?: number; entries?: number } = {}): Promise<Record<string, unknown>> {
  const runs = opts.runs ?? 20;
  const entries = opts.entries ?? 1000;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcps-bench-sync-'));
  try {
    const { identity, recipient, repo, bundle } = await benchRepo(dir);
    const doc: Record<string, unknown> = { MCP_SECRETS_VERSION: 'bench' };
    for (let i = 0; i < entries - 1; i++) doc[`SECRET_${i}`] = `value-${i}-${'x'.repeat(32)}`;
    const text = Buffer.from(await encrypt(doc, { format: 'yaml', recipients: [recipient] }));
    await writeFile(bundle, text);
    const env = { PATH: process.env.PATH ?? '', HOME: dir, SOPS_AGE_KEY: identity, MCP_SECRETS_KEYCHAIN: 'none' };

    const cli = path.join(ROOT, 'dist', 'src', 'main.js');
    const ours = Array.from({ length: runs }, (_, i) =>
      // alternate two homes so every other run rewrites, and the rest exercise the unchanged path
      timeProcess([cli, 'sync', '--repo', repo, '--home', path.join(dir, `home${i % 2}`), '--no-cache-identity'], env),
    );

    const script = path.join(dir, 'sops-age-decrypt.mjs');
    await writeFile(
      script,
      `import { decryptSops } from ${JSON.stringify(path.join(ROOT, 'node_modules', 'sops-age', 'dist', 'index.js'))};\n` +
        `import { readFileSync } from 'node:fs';\n` +
        `const out = await decryptSops(readFileSync(${JSON.stringify(bundle)}, 'utf8'), { secretKey: process.env.SOPS_AGE_KEY, fileType: 'yaml' });\n` +
        `if (!out) process.exit(1);\n`,
    );
    const theirs = Array.from({ length: runs }, () => timeProcess([script], env));

    const result = {
      machine: machine(),
      entries,
      runs,
      oursSyncProcessMs: round(median(ours)),
      sopsAgeDecryptProcessMs: round(median(theirs)),
      note: 'ours: whole sync (decrypt with MAC check, render, atomic publish of both outputs) as a process; sops-age: decrypt only, no MAC check, as a process',
    };
    await writeResults(
      'sync',
      result,
      `# sync as a process (${entries} entries, median of ${runs})\n\n` +
        table(['what', 'median wall ms'], [
          ['mcp-secrets sync (decrypt + MAC + render + publish)', result.oursSyncProcessMs],
          ['sops-age decrypt in a node script', result.sopsAgeDecryptProcessMs],
        ]),
    );
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
