/**
 * Killed one-shot syncs must not leave plaintext temps behind for long: every sync sweeps the
 * temps of dead writers (issue 11, item 15).
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { daemonFixture, sampleBundle } from '../helpers/daemon.js';
import { CLI, runCli } from '../helpers/e2e.js';
import { TEMP_PREFIX } from '../../src/publish/publisher.js';

async function temps(home: string): Promise<string[]> {
  return (await readdir(home)).filter((n) => n.startsWith(TEMP_PREFIX));
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

test('a sync removes plaintext temps left by dead writers, planted and from SIGKILLed syncs', async (t) => {
  const d = await daemonFixture(t);
  await d.commitBundle(sampleBundle('v1', { big: 'x'.repeat(4_000_000) }), 'v1');
  const args = ['sync', '--repo', d.repo, '--home', d.home];
  const started = performance.now();
  t.is((await runCli(args, { env: d.env })).code, 0);
  const full = performance.now() - started;
  // kill syncs at moments spread over the last part of a whole run, where publishing happens; some die mid-publish
  let killed = 0;
  for (let i = 0; i < 30; i++) {
    const child = spawn(process.execPath, [CLI, ...args], { env: d.env, stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, full * (0.55 + ((i * 7) % 30) / 60)));
    if (child.exitCode === null && child.kill('SIGKILL')) killed++;
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
  }
  const leftByKills = (await temps(d.home)).length;
  // and temps of a writer that is surely dead, so the final sync always has something to sweep
  const pid = await deadPid();
  for (const name of ['.env', 'console-secrets.json', 'bak-.env']) await writeFile(path.join(d.home, `${TEMP_PREFIX}${pid}-aaaaaaaaaaaa-${name}`), 'sk-planted-secret', { mode: 0o600 });
  t.log(`${killed} syncs killed, leaving ${leftByKills} temps; ${(await temps(d.home)).length} before the final sync`);
  t.true((await temps(d.home)).length >= 3);
  const r = await runCli(args, { env: d.env });
  t.is(r.code, 0, r.stderr);
  t.deepEqual(await temps(d.home), []);
});
