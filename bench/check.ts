/**
 * A quick regression check for CI (a few seconds): the start-up and engine ratios of
 * bench/startup.ts, measured briefly, against the committed bench/results/startup.json. It fails
 * only on a gross regression, a ratio more than 2x worse than the committed one, so that a busy
 * or slow CI machine cannot fail it: ratios are paired and interleaved, so both sides slow down.
 * Run: `node dist/bench/check.js` (after `npx tsc -p tsconfig.json`).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { runStartupBench } from './startup.js';
import { RESULTS } from './util.js';

interface Committed {
  processes: Array<{ name: string; ratio: number }>;
  engine: Array<{ shape: string; speedup: number }>;
}

const FACTOR = 2;

export async function checkRegression(): Promise<string[]> {
  const committed = JSON.parse(await readFile(path.join(RESULTS, 'startup.json'), 'utf8')) as Committed;
  const now = (await runStartupBench({ runs: 3, write: false })) as unknown as Committed;
  const failures: string[] = [];
  for (const p of now.processes) {
    const was = committed.processes.find((c) => c.name === p.name);
    if (was && was.ratio !== 1 && p.ratio > was.ratio * FACTOR) failures.push(`${p.name}: ratio ${p.ratio}, committed ${was.ratio} (limit ${was.ratio * FACTOR})`);
  }
  for (const e of now.engine) {
    const was = committed.engine.find((c) => c.shape === e.shape);
    if (was && e.speedup < was.speedup / FACTOR) failures.push(`engine ${e.shape}: ${e.speedup}x faster than sops-age, committed ${was.speedup}x (limit ${was.speedup / FACTOR}x)`);
  }
  return failures;
}

const failures = await checkRegression();
if (failures.length > 0) {
  console.error(`bench check: gross regression (more than ${FACTOR}x worse than bench/results/startup.json):\n  ${failures.join('\n  ')}`);
  process.exitCode = 1;
} else console.log('bench check: ok (no ratio more than 2x worse than committed)');
