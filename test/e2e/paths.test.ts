/**
 * `--socket` and `--home` never change the mode of a directory the program did not create
 * (issue 11, item 1). Every directory whose mode is checked here was made by the test itself.
 */
import test from 'ava';
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { daemonFixture, sampleBundle } from '../helpers/daemon.js';
import { runCli } from '../helpers/e2e.js';

async function mode(p: string): Promise<number> {
  return (await stat(p)).mode & 0o7777;
}

test('daemon --socket naming a directory exits 78 and leaves every mode above it as it was', async (t) => {
  const d = await daemonFixture(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  const x = path.join(d.dir, 'x');
  await mkdir(path.join(x, 'd'), { recursive: true });
  await chmod(x, 0o755);
  await chmod(d.dir, 0o755);
  const before = [await mode(d.dir), await mode(x), await mode(path.join(x, 'd'))];
  const r = await runCli(['daemon', '--repo', d.repo, '--home', d.home, '--socket', path.join(x, 'd')], { env: d.env });
  t.is(r.code, 78, r.stderr);
  t.regex(r.stderr, /E_INSECURE_PATH/);
  t.deepEqual([await mode(d.dir), await mode(x), await mode(path.join(x, 'd'))], before);
});

test('daemon --home on a shared directory (0755, holding others\' files) exits 78 with the chmod to run and changes no mode', async (t) => {
  const d = await daemonFixture(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  const shared = path.join(d.dir, 'shared');
  await mkdir(shared);
  await chmod(shared, 0o755);
  await writeFile(path.join(shared, 'notes.txt'), 'not ours');
  const r = await runCli(['daemon', '--repo', d.repo, '--home', shared, '--socket', d.socket], { env: d.env });
  t.is(r.code, 78, r.stderr);
  t.regex(r.stderr, /E_INSECURE_PATH/);
  t.true(r.stderr.includes(`chmod 700 ${shared}`), r.stderr);
  t.is(await mode(shared), 0o755);
  t.false(existsSync(path.join(shared, 'logs')));
  t.false(existsSync(path.join(shared, '.env')));
  const s = await runCli(['sync', '--repo', d.repo, '--home', shared], { env: d.env });
  t.not(s.code, 0);
  t.is(await mode(shared), 0o755, 'sync leaves it too');
});

test('the default ~/.mcp left 0755 by the old runbook is still tightened to 0700 by sync', async (t) => {
  const d = await daemonFixture(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  const userHome = d.env.HOME!;
  const mcp = path.join(userHome, '.mcp');
  await mkdir(mcp, { recursive: true });
  await chmod(mcp, 0o755);
  await writeFile(path.join(mcp, 'servers.json'), '{}');
  const env = { ...d.env };
  delete env.MCP_HOME;
  const r = await runCli(['sync', '--repo', d.repo], { env });
  t.is(r.code, 0, r.stderr);
  t.is(await mode(mcp), 0o700);
  t.regex(r.stdout, /0755 to 0700/);
});
