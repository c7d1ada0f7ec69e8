/**
 * A reader that goes away (`mcp-secrets doctor | head -1`): the built CLI with its stdout a pipe
 * whose read end is closed at once, many times over. No command may crash, print a stack, or
 * exit with anything but the code it has when its output is read in full.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { daemonFixture, sampleBundle, type DaemonFixture } from '../helpers/daemon.js';
import { CLI, runCli } from '../helpers/e2e.js';

const RUNS = 30;

/** Runs the CLI with stdout a pipe that nobody reads: its read end is closed before the CLI writes. */
function runIntoClosedPipe(args: string[], env: Record<string, string>): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

async function inBatches<T>(count: number, width: number, job: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let done = 0; done < count; done += width) out.push(...(await Promise.all(Array.from({ length: Math.min(width, count - done) }, job))));
  return out;
}

/** The commands tried, with how many runs each: doctor is the one seen crashing (1 run in 5), and the slowest. */
const COMMANDS: Record<string, { runs: number; args: (d: DaemonFixture) => string[] }> = {
  doctor: { runs: RUNS, args: (d) => ['doctor', '--repo', d.repo, '--home', d.home, '--socket', d.socket] },
  'doctor --json': { runs: 10, args: (d) => ['doctor', '--json', '--repo', d.repo, '--home', d.home, '--socket', d.socket] },
  sync: { runs: 15, args: (d) => ['sync', '--repo', d.repo, '--home', d.home] },
  'status (no daemon)': { runs: RUNS, args: (d) => ['status', '--socket', d.socket] },
  tray: { runs: RUNS, args: (d) => ['tray', '--socket', d.socket] },
  '--help': { runs: RUNS, args: () => ['--help'] },
  'identity show (keychain off)': { runs: 15, args: () => ['identity', 'show'] },
};

for (const [name, { runs: count, args }] of Object.entries(COMMANDS)) {
  test.serial(`\`${name}\` whose stdout reader closes at once exits quietly with its own exit code, ${count} runs`, async (t) => {
    const d = await daemonFixture(t);
    await d.commitBundle(sampleBundle('2026.03.1'), 'bundle');
    const baseline = await runCli(args(d), { env: d.env, cwd: d.repo });
    const runs = await inBatches(count, 3, () => runIntoClosedPipe(args(d), d.env));
    t.deepEqual([...new Set(runs.map((r) => `${r.code}/${r.signal}`))], [`${baseline.code}/null`], 'exit codes');
    for (const r of runs) {
      t.false(/EPIPE|internal error|\n\s+at /.test(r.stderr), `no crash, no stack:\n${r.stderr}`);
      // what the command says on stderr is the same as when its output is read
      t.is(r.stderr.trimEnd(), baseline.stderr.trimEnd(), 'stderr unchanged');
    }
  });
}

test('tray --watch ends with 0 when its reader goes away', async (t) => {
  const d = await daemonFixture(t);
  const runs = await inBatches(5, 5, () => runIntoClosedPipe(['tray', '--watch', '--socket', d.socket], d.env));
  for (const r of runs) {
    t.is(r.code, 0, r.stderr);
    t.is(r.stderr, '');
  }
});
