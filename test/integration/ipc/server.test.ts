import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { stat, writeFile, mkdir, chmod, chown, lstat, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { execa } from 'execa';
import { IPCModule } from 'node-ipc';
import { prepareSocketPath, startIpcServer, type SocketDirFs } from '../../../src/ipc/server.js';
import { getStatus, waitFresh, subscribe, sync, ping, lock } from '../../../src/ipc/client.js';
import type { StatusDocument } from '../../../src/ipc/status.js';
import { FakePort, fakeServer, rawClient } from '../../helpers/ipc.js';
import { eventually } from '../../helpers/e2e.js';
import { tempDir } from '../../helpers/temp.js';

test('answers every request over a real socket and echoes the id', async (t) => {
  const { socketPath, port } = await fakeServer(t);
  const c = await rawClient(socketPath);
  for (const [type, id] of [['status', 1], ['ping', 'p'], ['sync', 2], ['ack', 3], ['wait-fresh', 4]] as const) {
    c.socket.write(JSON.stringify({ type, data: { id, timeoutMs: 10 } }) + '\f');
    const reply = (await c.next()) as { type: string; data: { id: unknown; status?: StatusDocument } };
    t.is(reply.data.id, id);
    t.is(reply.type, type === 'ping' ? 'pong' : 'status');
  }
  t.is(port.syncs, 1);
  c.socket.destroy();
});

test('status requests pipelined in one write are each answered, in order, with their own id (multi-byte ids too)', async (t) => {
  const { socketPath } = await fakeServer(t);
  const c = await rawClient(socketPath);
  const ids = [1, 'ü-ид-✓', 'x'.repeat(128), 2, 'ping-ñ'];
  c.socket.write(ids.map((id) => JSON.stringify({ type: typeof id === 'string' && id.startsWith('ping') ? 'ping' : 'status', data: { id } }) + '\f').join(''));
  for (const id of ids) {
    const reply = (await c.next()) as { type: string; data: { id: unknown; status?: StatusDocument } };
    t.is(reply.data.id, id);
    if (reply.type === 'status') t.is(reply.data.status?.state, 'fresh');
    else t.is(reply.type, 'pong');
  }
  c.socket.destroy();
});

test('the Node client: status, ping, sync, wait-fresh, lock', async (t) => {
  const { socketPath, port } = await fakeServer(t);
  t.is((await getStatus({ socketPath })).state, 'fresh');
  t.is(await ping({ socketPath }), 1);
  t.is((await sync({ socketPath })).state, 'fresh');
  port.set('syncing');
  const waiting = waitFresh({ socketPath, timeoutMs: 10_000 });
  setTimeout(() => port.set('fresh', 'v2'), 50);
  t.is((await waiting).secretsVersion, 'v2');
  port.set('error');
  t.is((await waitFresh({ socketPath, timeoutMs: 30 })).state, 'error', 'wait-fresh gives the current status at the timeout');
  t.is((await lock('purge', { socketPath })).state, 'locked');
});

test('subscribe gives the current status, then every change, until closed', async (t) => {
  const { socketPath, port } = await fakeServer(t);
  const seen: string[] = [];
  const sub = subscribe((s) => seen.push(s.state), { socketPath });
  await eventually(() => (seen.length === 1 ? true : undefined));
  port.set('syncing');
  port.set('fresh');
  await eventually(() => (seen.length === 3 ? true : undefined));
  t.deepEqual(seen, ['fresh', 'syncing', 'fresh']);
  sub.close();
  await sub.closed;
});

test('no daemon: the client fails fast with E_DAEMON_UNREACHABLE', async (t) => {
  const dir = await tempDir(t);
  await t.throwsAsync(getStatus({ socketPath: path.join(dir, 'none.sock') }), { message: /no mcp-secrets daemon answers/ });
  const errors: string[] = [];
  const sub = subscribe(() => undefined, { socketPath: path.join(dir, 'none.sock'), onError: (e) => errors.push(e.code) });
  await sub.closed;
  t.deepEqual(errors, ['E_DAEMON_UNREACHABLE']);
});

test('a plain node-ipc client in event mode talks to us', async (t) => {
  const { socketPath } = await fakeServer(t);
  const ipc = new IPCModule();
  Object.assign(ipc.config, { silent: true, maxRetries: 0 });
  const client = ipc as unknown as {
    connectTo(id: string, path: string, cb: () => void): void;
    of: Record<string, { on(e: string, h: (d: unknown) => void): void; emit(e: string, d: unknown): void }>;
    disconnect(id: string): void;
  };
  const reply = await new Promise<{ id: string; status: StatusDocument }>((resolve) => {
    client.connectTo('mcp', socketPath, () => {
      client.of.mcp!.on('status', (data) => resolve(data as { id: string; status: StatusDocument }));
      client.of.mcp!.on('connect', () => client.of.mcp!.emit('status', { id: 'from-node-ipc' }));
    });
  });
  client.disconnect('mcp');
  t.is(reply.id, 'from-node-ipc');
  t.is(reply.status.state, 'fresh');
});

test('hostile input costs only that connection: garbage, bad shapes, spoofed node-ipc events', async (t) => {
  const { socketPath } = await fakeServer(t);
  for (const bad of ['{}', '[]', '123', '"s"', 'null', '{"type":"constructor"}', '{"type":"start"}', '{"type":"__proto__"}', '{"type":"constructor","data":{"id":1}}', '{"type":"start","data":{"id":1}}', '{"type":"__proto__","data":{"id":1}}', '{"type":"nope","data":{"id":9}}']) {
    const c = await rawClient(socketPath);
    c.socket.write(bad + '\f');
    const reply = (await c.next()) as { type: string; data: { code: string } };
    t.is(reply.type, 'error', bad);
    t.is(reply.data.code, 'E_USAGE');
    c.socket.destroy();
  }
  const garbage = await rawClient(socketPath);
  garbage.socket.write(Buffer.concat([randomBytes(4096), Buffer.from('\f')]));
  await garbage.closed;
  t.is((await getStatus({ socketPath })).state, 'fresh', 'others are still served');
});

test('a 50 MB frame without a delimiter is cut off after the 1 MiB cap, and the server stays small', async (t) => {
  const { socketPath } = await fakeServer(t);
  const before = process.memoryUsage().rss;
  const c = await rawClient(socketPath);
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let sent = 0;
  while (sent < 50 * 1024 * 1024 && !c.socket.destroyed) {
    const ok = c.socket.write(chunk);
    sent += chunk.length;
    if (!ok) await Promise.race([new Promise((r) => c.socket.once('drain', r)), c.closed]);
  }
  await c.closed;
  t.log(`the server closed the connection after ${sent} bytes were sent`);
  t.true(sent < 4 * 1024 * 1024, `closed after about the 1 MiB cap (plus socket buffers), not ${sent} bytes`);
  t.true(process.memoryUsage().rss - before < 64 * 1024 * 1024, 'no 50 MB buffer');
  t.is((await getStatus({ socketPath })).state, 'fresh');
});

/** How many idle clients this process can hold: both ends live here, two descriptors each. */
function idleClientBudget(wanted: number): number {
  const limit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  return Number.isFinite(limit) ? Math.min(wanted, Math.floor((limit - 200) / 2)) : wanted;
}

test('500 idle connections do not stop other clients, and idle ones are closed after the idle timeout', async (t) => {
  const count = idleClientBudget(500);
  if (count < 500) t.log(`ulimit -n allows only ${count} idle clients here`);
  const { socketPath, server } = await fakeServer(t, { idleTimeoutMs: 1500 });
  const idle = await Promise.all(Array.from({ length: count }, () => rawClient(socketPath)));
  t.is((await getStatus({ socketPath })).state, 'fresh');
  await Promise.all(idle.map((c) => c.closed));
  await eventually(() => (server.connections() === 0 ? true : undefined), 10_000, 'all idle connections closed');
  t.pass();
});

test('a second server on the same socket refuses with E_ALREADY_RUNNING and the first keeps serving', async (t) => {
  const { socketPath } = await fakeServer(t);
  await t.throwsAsync(startIpcServer({ socketPath, port: new FakePort() }), { message: /already answers/ });
  t.is((await getStatus({ socketPath })).state, 'fresh');
});

test('a stale socket left by a SIGKILLed server is removed and the new server starts', async (t) => {
  const dir = await tempDir(t);
  const socketPath = path.join(dir, 'run', 's.sock');
  const script = path.join(dir, 'serve.mjs');
  const serverModule = new URL('../../../src/ipc/server.js', import.meta.url).href;
  await writeFile(
    script,
    `import { startIpcServer } from ${JSON.stringify(serverModule)};\n` +
      `const port = { getStatus: () => ({}), requestSync: async () => ({}), waitFresh: async () => ({}), acknowledge: () => ({}), lock: () => ({}), onStatusChange: () => () => {} };\n` +
      `await startIpcServer({ socketPath: ${JSON.stringify(socketPath)}, port });\nconsole.log('up');\n`,
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => child.stdout!.once('data', r));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  t.true(existsSync(socketPath));
  const server = await startIpcServer({ socketPath, port: new FakePort() });
  t.teardown(() => server.close());
  t.is((await getStatus({ socketPath })).state, 'fresh');
});

test('the socket is 0600 in a 0700 directory, a loose directory is tightened, and close removes the socket', async (t) => {
  const dir = await tempDir(t);
  const runDir = path.join(dir, 'run');
  await mkdir(runDir, { mode: 0o755 });
  await chmod(runDir, 0o755);
  const socketPath = path.join(runDir, 's.sock');
  const server = await startIpcServer({ socketPath, port: new FakePort() });
  t.is((await stat(runDir)).mode & 0o777, 0o700);
  t.is((await stat(socketPath)).mode & 0o777, 0o600);
  await server.close();
  t.false(existsSync(socketPath));
});

test('another user cannot connect to the socket', async (t) => {
  if (process.getuid?.() !== 0) {
    t.fail('needs root to switch to another user (setpriv): run the suite as root, as CI does');
    return;
  }
  const { socketPath } = await fakeServer(t);
  // open our own temp dirs (never anything above them: /tmp is shared) so only the socket's mode protects it
  await chmod(path.dirname(path.dirname(socketPath)), 0o755);
  await chmod(path.dirname(socketPath), 0o711);
  const asNobody = () => execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'socat', '-u', 'OPEN:/dev/null', `UNIX-CONNECT:${socketPath}`], { reject: false });
  // control: with the socket opened up, nobody does connect, so the refusal below is the socket's mode
  await chmod(socketPath, 0o666);
  const control = await asNobody();
  t.is(control.exitCode, 0, `control connect as nobody failed: ${control.stderr}`);
  await chmod(socketPath, 0o600);
  const r = await asNobody();
  t.not(r.exitCode, 0);
  t.regex(r.stderr, /Permission denied/);
});

test('a socket directory owned by someone else is refused with E_INSECURE_PATH', async (t) => {
  if (process.getuid?.() !== 0) {
    t.fail('needs root to chown a directory to nobody: run the suite as root, as CI does');
    return;
  }
  const dir = await tempDir(t);
  const runDir = path.join(dir, 'run');
  await mkdir(runDir, { mode: 0o700 });
  await chown(runDir, 65534, 65534);
  await t.throwsAsync(startIpcServer({ socketPath: path.join(runDir, 's.sock'), port: new FakePort() }), { message: /belongs to uid 65534/ });
});

/** A seam over the real file system that reads for real and only records the changes asked for. */
function recordingFs(changes: string[]): SocketDirFs {
  return {
    lstat: (p) => lstat(p).catch(() => null),
    readdir: (p) => readdir(p, { withFileTypes: true }),
    mkdir: async (p, mode) => {
      changes.push(`mkdir ${p} ${mode.toString(8)}`);
      return undefined;
    },
    chmod: async (p, mode) => {
      changes.push(`chmod ${p} ${mode.toString(8)}`);
    },
  };
}

test('--socket / is refused without a single chmod or mkdir (checked through a recording seam, never on / itself)', async (t) => {
  const changes: string[] = [];
  const error = await t.throwsAsync(prepareSocketPath('/', { fs: recordingFs(changes) }));
  t.is((error as { code?: string }).code, 'E_INSECURE_PATH');
  t.deepEqual(changes, []);
  // the same shape on a tree of ours, with the real file system: a path that names a directory whose parent is loose
  const dir = await tempDir(t);
  const likeRoot = path.join(dir, 'root');
  await mkdir(path.join(likeRoot, 'etc'), { recursive: true });
  await chmod(dir, 0o755);
  await chmod(likeRoot, 0o755);
  await t.throwsAsync(prepareSocketPath(likeRoot), { message: /not a socket/ });
  t.is((await stat(dir)).mode & 0o7777, 0o755);
  t.is((await stat(likeRoot)).mode & 0o7777, 0o755);
});

test('--socket naming a directory refuses and leaves the loose directory above it as it was', async (t) => {
  const top = await tempDir(t);
  const x = path.join(top, 'x');
  await mkdir(path.join(x, 'd'), { recursive: true });
  await chmod(x, 0o755);
  await chmod(top, 0o755);
  const dMode = (await stat(path.join(x, 'd'))).mode;
  await t.throwsAsync(startIpcServer({ socketPath: path.join(x, 'd'), port: new FakePort() }), { message: /is not a socket/ });
  t.is((await stat(x)).mode & 0o777, 0o755);
  t.is((await stat(top)).mode & 0o777, 0o755);
  t.is((await stat(path.join(x, 'd'))).mode, dMode);
});

test('a loose socket directory holding files not ours is refused with the chmod to run, and keeps its mode', async (t) => {
  const dir = await tempDir(t);
  const shared = path.join(dir, 'shared');
  await mkdir(shared);
  await chmod(shared, 0o755);
  await writeFile(path.join(shared, 'notes.txt'), 'not ours');
  const error = await t.throwsAsync(startIpcServer({ socketPath: path.join(shared, 's.sock'), port: new FakePort() }));
  t.is((error as { code?: string }).code, 'E_INSECURE_PATH');
  t.regex((error as { hint?: string }).hint ?? '', new RegExp(`chmod 700 ${shared}`));
  t.is((await stat(shared)).mode & 0o777, 0o755);
  t.false(existsSync(path.join(shared, 's.sock')));
});

test('a missing socket directory is created 0700 without touching the directories above it', async (t) => {
  const dir = await tempDir(t);
  await chmod(dir, 0o755);
  const socketPath = path.join(dir, 'a', 'mcp-secrets', 's.sock');
  const server = await startIpcServer({ socketPath, port: new FakePort() });
  t.teardown(() => server.close());
  t.is((await stat(dir)).mode & 0o777, 0o755);
  t.is((await stat(path.dirname(socketPath))).mode & 0o777, 0o700);
});
