/** The plain-socket clients in docs/ipc-protocol.md are run, as written, against a real server. */
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { fakeServer } from '../../helpers/ipc.js';
import { repoRoot, tempDir } from '../../helpers/e2e.js';

async function example(kind: 'python' | 'bash'): Promise<string> {
  const doc = await readFile(path.join(repoRoot(), 'docs', 'ipc-protocol.md'), 'utf8');
  const m = new RegExp(`<!-- example: ${kind} -->\\n\`\`\`${kind}\\n([\\s\\S]*?)\`\`\``).exec(doc);
  if (!m) throw new Error(`no ${kind} example in docs/ipc-protocol.md`);
  return m[1]!;
}

test('the Python example prints the state and exits 0 when fresh, 1 when not', async (t) => {
  const { socketPath, port } = await fakeServer(t);
  const dir = await tempDir(t);
  const script = path.join(dir, 'status.py');
  await writeFile(script, await example('python'));
  const fresh = await execa('/usr/bin/python3', [script, socketPath], { reject: false });
  t.is(fresh.exitCode, 0, fresh.stderr);
  t.is(fresh.stdout.trim(), 'fresh v1');
  port.set('error');
  t.is((await execa('/usr/bin/python3', [script, socketPath], { reject: false })).exitCode, 1);
});

test('the bash + socat example prints the state and exits 0 when fresh', async (t) => {
  const { socketPath, port } = await fakeServer(t);
  const dir = await tempDir(t);
  const script = path.join(dir, 'status.sh');
  await writeFile(script, await example('bash'));
  const fresh = await execa('bash', [script, socketPath], { reject: false });
  t.is(fresh.exitCode, 0, fresh.stderr);
  t.is(fresh.stdout.trim(), 'fresh');
  port.set('syncing');
  const busy = await execa('bash', [script, socketPath], { reject: false });
  t.is(busy.stdout.trim(), 'syncing');
  t.is(busy.exitCode, 1);
});
