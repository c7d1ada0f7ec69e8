/**
 * Engine benchmark: our native decrypt (which verifies every tag and the MAC) against sops-age
 * (which does not verify the MAC) on the same YAML bundles, in one process.
 * Run: `node dist/bench/engine.js` (after `npx tsc`). Writes bench/results/engine.{json,md}.
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { median, writeResults } from './util.js';
import { performance } from 'node:perf_hooks';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { decryptSops } from 'sops-age';
import { decrypt, decryptDetailed, encrypt, type TreeValue } from '../src/sops/index.js';

export interface EngineBenchRow {
  entries: number;
  bytes: number;
  runs: number;
  oursMedianMs: number;
  sopsAgeMedianMs: number;
  speedup: number;
  profileMedianMs: { parseMs: number; unwrapMs: number; valuesMs: number; macMs: number };
}

export interface EngineBenchResult {
  node: string;
  date: string;
  note: string;
  rows: EngineBenchRow[];
}

const SIZES = [10, 100, 1_000, 10_000];

function bundle(entries: number): Map<string, TreeValue> {
  const doc = new Map<string, TreeValue>();
  for (let i = 0; i < entries; i++) {
    doc.set(`service_${i}`, new Map<string, TreeValue>([['api_key', randomBytes(24).toString('base64url')]]));
  }
  return doc;
}

async function time(fn: () => Promise<unknown>, runs: number): Promise<number[]> {
  await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/** Runs the benchmark; `runs` defaults to 20 (10,000 entries use a quarter of that, at least 5). */
export async function runEngineBench(opts: { runs?: number } = {}): Promise<EngineBenchResult> {
  const baseRuns = opts.runs ?? 20;
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  const rows: EngineBenchRow[] = [];
  for (const entries of SIZES) {
    const runs = entries >= 10_000 ? Math.max(5, Math.floor(baseRuns / 4)) : baseRuns;
    const bytes = await encrypt(bundle(entries), { format: 'yaml', recipients: [recipient] });
    const text = Buffer.from(bytes).toString('utf8');
    const ours = await time(() => decrypt(text, { format: 'yaml', identities: [identity] }), runs);
    const theirs = await time(() => decryptSops(text, { secretKey: identity, fileType: 'yaml' }), runs);
    const profiles: Array<{ parseMs: number; unwrapMs: number; valuesMs: number; macMs: number }> = [];
    for (let i = 0; i < runs; i++) {
      const r = await decryptDetailed(text, { format: 'yaml', identities: [identity], profile: true });
      if (r.timings) profiles.push(r.timings);
    }
    const oursMedianMs = median(ours);
    const sopsAgeMedianMs = median(theirs);
    rows.push({
      entries,
      bytes: bytes.length,
      runs,
      oursMedianMs,
      sopsAgeMedianMs,
      speedup: sopsAgeMedianMs / oursMedianMs,
      profileMedianMs: {
        parseMs: median(profiles.map((p) => p.parseMs)),
        unwrapMs: median(profiles.map((p) => p.unwrapMs)),
        valuesMs: median(profiles.map((p) => p.valuesMs)),
        macMs: median(profiles.map((p) => p.macMs)),
      },
    });
  }
  return {
    node: process.version,
    date: new Date().toISOString(),
    note: `median of ${baseRuns} runs (10,000 entries: ${Math.max(5, Math.floor(baseRuns / 4))}); ours verifies every GCM tag and the MAC, sops-age does not verify the MAC; "values" includes AES-GCM, MAC hashing input and comment checks`,
    rows,
  };
}

export function toMarkdown(result: EngineBenchResult): string {
  const f = (n: number): string => n.toFixed(n < 10 ? 2 : 1);
  const lines = [
    `Engine decrypt benchmark (${result.node}, ${result.date}); ${result.note}.`,
    '',
    '| entries | file bytes | runs | ours (ms) | sops-age (ms) | speed-up | parse | age unwrap | values (AES-GCM) | MAC |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...result.rows.map(
      (r) =>
        `| ${r.entries.toLocaleString('en-US')} | ${r.bytes.toLocaleString('en-US')} | ${r.runs} | ${f(r.oursMedianMs)} | ${f(r.sopsAgeMedianMs)} | ${r.speedup.toFixed(1)}x | ${f(r.profileMedianMs.parseMs)} | ${f(r.profileMedianMs.unwrapMs)} | ${f(r.profileMedianMs.valuesMs)} | ${f(r.profileMedianMs.macMs)} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

/** Runs the benchmark and writes bench/results/engine.json and engine.md. */
export async function runAndWriteEngineBench(opts: { runs?: number } = {}): Promise<EngineBenchResult> {
  const result = await runEngineBench(opts);
  await writeResults('engine', result, toMarkdown(result));
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runAndWriteEngineBench().then(
    (result) => process.stdout.write(toMarkdown(result) + '\n'),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
