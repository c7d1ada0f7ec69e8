/**
 * Watcher measurements (not a test: numbers vary with the machine).
 *   node dist/bench/watch.js            latency of git checkout → onChange (median of 20) and idle CPU
 *   node dist/bench/watch.js idle REPO  (internal) holds a watcher for 10 s and prints its CPU use
 */
import { execa } from 'execa';
import { mkdtemp, mkdir, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { watchSource, type WatchEvent } from '../src/watch/index.js';

const BUNDLE = 'config/secrets.enc.yaml';
const env = { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: os.devNull, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@x.invalid', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@x.invalid' };
const git = (repo: string, ...args: string[]) => execa('git', ['-C', repo, ...args], { env });

async function makeRepo(): Promise<string> {
  const repo = await realpath(await mkdtemp(path.join(os.tmpdir(), 'mcp-bench-')));
  await git(repo, 'init', '-q', '-b', 'main');
  await mkdir(path.join(repo, 'config'));
  await writeFile(path.join(repo, BUNDLE), 'token: main\n');
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-q', '-m', 'main');
  await git(repo, 'checkout', '-q', '-b', 'other');
  await writeFile(path.join(repo, BUNDLE), 'token: other\n');
  await git(repo, 'commit', '-q', '-am', 'other');
  return repo;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function latency(repo: string): Promise<void> {
  let resolveNext: ((event: WatchEvent) => void) | null = null;
  const watcher = await watchSource({
    workTree: repo,
    sourcePath: path.join(repo, BUNDLE),
    outputPaths: [path.join(repo, '..', 'bench-out.env')],
    onChange: (event) => resolveNext?.(event),
  });
  await watcher.ready;
  const fromStart: number[] = [];
  const fromExit: number[] = [];
  for (let i = 0; i < 20; i++) {
    const next = new Promise<WatchEvent>((resolve) => (resolveNext = resolve));
    const start = performance.now();
    await git(repo, 'checkout', '-q', i % 2 === 0 ? 'main' : 'other');
    const exited = performance.now();
    await next;
    const done = performance.now();
    fromStart.push(done - start);
    fromExit.push(done - exited);
    // A pause, so each checkout is a separate operation (no storm widening of the window).
    await new Promise((r) => setTimeout(r, 400));
  }
  await watcher.close();
  console.log(`checkout → onChange (settleMs 75): median ${median(fromExit).toFixed(1)} ms after git exits, ${median(fromStart).toFixed(1)} ms after it starts (n=20)`);
}

async function idleChild(repo: string): Promise<void> {
  const watcher = await watchSource({ workTree: repo, sourcePath: path.join(repo, BUNDLE), outputPaths: [path.join(repo, '..', 'bench-out.env')], onChange: () => {} });
  await watcher.ready;
  const before = process.cpuUsage();
  await new Promise((r) => setTimeout(r, 10_000));
  const used = process.cpuUsage(before);
  await watcher.close();
  console.log(`idle watcher, 10 s: user ${(used.user / 1000).toFixed(1)} ms, system ${(used.system / 1000).toFixed(1)} ms`);
}

async function main(): Promise<void> {
  if (process.argv[2] === 'idle' && process.argv[3]) return idleChild(process.argv[3]);
  const repo = await makeRepo();
  try {
    await latency(repo);
    const child = await execa(process.execPath, [fileURLToPath(import.meta.url), 'idle', repo]);
    console.log(child.stdout);
  } finally {
    await rm(repo, { recursive: true, force: true });
  }
}

await main();
