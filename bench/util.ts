/** Small shared pieces for the benchmarks: a scratch repo, a daemon child, statistics and result files. */
import type { ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { getStatus } from '../src/ipc/client.js';
import type { StatusDocument } from '../src/ipc/status.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RESULTS = path.join(ROOT, 'bench', 'results');

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function machine(): Record<string, unknown> {
  return { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', platform: `${os.platform()} ${os.release()}`, at: new Date().toISOString() };
}

/** Writes `<name>.json` and `<name>.md` under bench/results. */
export async function writeResults(name: string, json: unknown, markdown: string): Promise<void> {
  await mkdir(RESULTS, { recursive: true });
  await writeFile(path.join(RESULTS, `${name}.json`), JSON.stringify(json, null, 2) + '\n');
  await writeFile(path.join(RESULTS, `${name}.md`), markdown.endsWith('\n') ? markdown : markdown + '\n');
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]): string => `| ${cells.map(String).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A benchmark's scratch repo in `dir`: a fresh age identity, `repo/config/`, and where the bundle goes. */
export async function benchRepo(dir: string): Promise<{ identity: string; recipient: string; repo: string; bundle: string }> {
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  const repo = path.join(dir, 'repo');
  await mkdir(path.join(repo, 'config'), { recursive: true });
  return { identity, recipient, repo, bundle: path.join(repo, 'config', 'secrets.enc.yaml') };
}

/** Asks the daemon on `socketPath` until it says fresh (it may not listen yet); throws after 20 s. */
export async function untilFresh(socketPath: string): Promise<StatusDocument> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const status = await getStatus({ socketPath, timeoutMs: 1000 }).catch(() => null);
    if (status?.fresh) return status;
    if (Date.now() > deadline) throw new Error('daemon did not become fresh');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stops a daemon a benchmark started (SIGTERM) and waits until it is gone. */
export async function stopChild(child: ChildProcess | null): Promise<void> {
  if (child === null || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}
