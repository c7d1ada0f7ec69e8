/** The plain-socket clients in docs/ipc-protocol.md are run, as written, against a real server. */
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { REQUEST_TYPES } from '../../../src/ipc/protocol.js';
import { fakeServer, rawClient } from '../../helpers/ipc.js';
import { repoRoot } from '../../helpers/e2e.js';
import { tempDir } from '../../helpers/temp.js';
import { DaemonCore } from '../../../src/daemon/core.js';
import { silentLogger } from '../../../src/log.js';
import type { StatusDocument } from '../../../src/ipc/status.js';

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

test('every request in the protocol examples gets the reply the doc shows', async (t) => {
  const { socketPath } = await fakeServer(t);
  const doc = await readFile(path.join(repoRoot(), 'docs', 'ipc-protocol.md'), 'utf8');
  const block = /```text\n(→[\s\S]*?)```/.exec(doc)![1]!;
  const pairs: { request: string; reply: string }[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('→ ')) pairs.push({ request: line.slice(2), reply: '' });
    else if (line.startsWith('← ') && pairs.at(-1)!.reply === '') pairs.at(-1)!.reply = line.slice(2).replace(/\s+\(.*\)$/, '');
  }
  const types = pairs.map((p) => (JSON.parse(p.request) as { type: string }).type);
  for (const type of REQUEST_TYPES) t.true(types.includes(type), `the doc shows "${type}"`);
  for (const { request, reply } of pairs) {
    const c = await rawClient(socketPath);
    c.socket.write(request + '\f');
    const got = (await c.next()) as { type: string; data: { id: unknown } };
    c.socket.destroy();
    if (reply.includes('…')) {
      const [, type, id] = /^\{"type":"([^"]+)","data":\{"id":("[^"]*"|\d+)/.exec(reply)!;
      t.is(got.type, type!, request);
      t.deepEqual(got.data.id, JSON.parse(id!), request);
    } else t.deepEqual(got, JSON.parse(reply), request);
  }
});

/** Every key path of a JSON value, arrays by their first element: `outputs[].intact`, `identity.opens`… */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.length === 0 ? [`${prefix}[]`] : keyPaths(value[0], `${prefix}[]`);
  if (value === null || typeof value !== 'object') return [prefix];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => keyPaths(v, prefix ? `${prefix}.${k}` : k));
}

test('the status document in the doc has exactly the fields the daemon sends, and no output digest', async (t) => {
  const doc = await readFile(path.join(repoRoot(), 'docs', 'ipc-protocol.md'), 'utf8');
  const block = /The status document \(`protocol: 1`\):\n\n```json\n([\s\S]*?)```/.exec(doc)![1]!;
  const documented = JSON.parse(block) as StatusDocument;
  const core = new DaemonCore({
    runSync: async () => ({
      sourcePath: '/r/config/secrets.enc.yaml',
      sourceSha256: 'a'.repeat(64),
      commit: 'c'.repeat(40),
      dirty: false,
      entries: 1,
      secretsVersion: 'v1',
      outputs: [
        { kind: 'env', format: 'env', file: '.env', path: '/h/.env', sha256: 'e'.repeat(64), entriesDigest: 'd-env' },
        { kind: 'console', format: 'secretstore', file: 'console-secrets.json', path: '/h/console-secrets.json', sha256: 'f'.repeat(64), entriesDigest: 'd-console' },
      ],
      written: [],
      unchanged: [],
      removed: [],
      warnings: [],
      identity: { source: 'env', recipients: ['age1x'], opensNothing: [] },
      bundleRecipients: ['age1x'],
      sopsConfigRecipients: null,
      durationMs: 1,
      secretValues: ['value'],
      dataKeyPin: 'known',
    }),
    probe: async () => ({ sourceExists: true, sourceSha256: 'a'.repeat(64), integrity: { intact: true, outputs: [], homeProblems: [] } }),
    now: () => new Date(),
    logger: silentLogger,
    daemon: { pid: 1, version: '0', startedAt: new Date().toISOString(), socket: '/s' },
    sourcePath: '/r/config/secrets.enc.yaml',
    outputs: [
      { kind: 'env', format: 'env', path: '/h/.env' },
      { kind: 'console', format: 'secretstore', path: '/h/console-secrets.json' },
    ],
    onSecrets: () => undefined,
  });
  await core.trigger({ reasons: ['startup'], force: true });
  const real = core.status();
  t.is(real.state, 'fresh');
  t.deepEqual(keyPaths(documented).sort(), keyPaths(real).sort());
  t.false(JSON.stringify(real).includes('e'.repeat(64)), 'no output digest in the status');
  t.deepEqual(real.outputs.map((o) => o.intact), [true, true]);
});
