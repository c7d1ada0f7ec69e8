/**
 * The server against clients that misbehave or merely behave unusually: half-closing plain
 * clients, long waits, trickled bytes, non-reading subscribers, pipelined floods, races for the
 * path, paths too long for a socket. After each, an ordinary client is still served.
 */
import test from 'ava';
import { createConnection, createServer } from 'node:net';
import { chmod, link, mkdir, stat, unlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../../src/errors.js';
import { startIpcServer, maxSocketPathBytes } from '../../../src/ipc/server.js';
import { defaultSocketPath, getStatus, sync } from '../../../src/ipc/client.js';
import { FakePort, fakeServer, rawClient } from '../../helpers/ipc.js';
import { eventually } from '../../helpers/e2e.js';
import { tempDir } from '../../helpers/temp.js';

/** Connects, writes `request`, shuts the writing side (as `printf … | socat` does) and collects everything until the server ends. */
function halfClosingClient(socketPath: string, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath, () => socket.end(request));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

test('a client that shuts its writing side after the request still gets the reply, also for wait-fresh', async (t) => {
  const { socketPath, port } = await fakeServer(t);
  port.set('syncing');
  const pending = halfClosingClient(socketPath, '{"type":"wait-fresh","data":{"id":"w","timeoutMs":10000}}\f');
  await eventually(() => (port.listenerCount() > 0 ? true : undefined), 5_000, 'the wait to start');
  port.set('fresh', 'v9');
  const reply = JSON.parse((await pending).replace(/\f$/, '')) as { type: string; data: { id: string; status: { secretsVersion: string } } };
  t.is(reply.type, 'status');
  t.is(reply.data.id, 'w');
  t.is(reply.data.status.secretsVersion, 'v9');
});

test('a wait-fresh longer than the idle timeout is answered at its own timeout, not cut by the idle sweep', async (t) => {
  // the idle timeout leaves room for a busy event loop to read the request at all; the wait is
  // still five times longer than it
  const { socketPath, port } = await fakeServer(t, { idleTimeoutMs: 300 });
  port.set('syncing');
  const c = await rawClient(socketPath);
  c.socket.write('{"type":"wait-fresh","data":{"id":1,"timeoutMs":1500}}\f');
  const reply = (await Promise.race([c.next(), c.closed.then(() => null)])) as { data: { id: number; status: { state: string } } } | null;
  t.truthy(reply, 'the connection was closed before the answer');
  t.is(reply!.data.id, 1);
  t.is(reply!.data.status.state, 'syncing', 'the current status at the timeout');
  c.socket.destroy();
});

test.serial('a request already written when the event loop stalls past the idle timeout is answered, not swept', async (t) => {
  // the server and this client share one event loop: blocking it after the write puts the sweep's
  // timer and the unread request side by side, as a busy daemon sees them
  const { socketPath } = await fakeServer(t, { idleTimeoutMs: 100 });
  const c = await rawClient(socketPath);
  c.socket.write('{"type":"status","data":{"id":7}}\f');
  const until = performance.now() + 400;
  while (performance.now() < until) {
    // a stalled event loop
  }
  const reply = (await Promise.race([c.next(), c.closed.then(() => null)])) as { data: { id: number } } | null;
  t.truthy(reply, 'the connection was closed before the answer');
  t.is(reply!.data.id, 7);
  c.socket.destroy();
});

test('a client that trickles bytes without ever finishing a frame is closed after the idle timeout', async (t) => {
  const { socketPath, server } = await fakeServer(t, { idleTimeoutMs: 200 });
  const c = await rawClient(socketPath);
  const drip = setInterval(() => c.socket.write('{'), 20);
  t.teardown(() => clearInterval(drip));
  await c.closed;
  clearInterval(drip);
  await eventually(() => (server.connections() === 0 ? true : undefined), 5_000, 'the server to forget it');
  t.is((await getStatus({ socketPath })).state, 'fresh');
});

test('a subscriber that stops reading is dropped once its queue passes the limit, and the others keep getting pushes', async (t) => {
  const { socketPath, port, server } = await fakeServer(t, { maxQueuedBytes: 64 * 1024 });
  const slow = await rawClient(socketPath);
  slow.socket.write('{"type":"subscribe","data":{"id":"slow"}}\f');
  await slow.next();
  slow.socket.pause();
  const good = await rawClient(socketPath);
  good.socket.write('{"type":"subscribe","data":{"id":"good"}}\f');
  await good.next();
  // each push is a whole status document; thousands fill the kernel buffers and then the queue
  for (let i = 0; i < 20_000 && server.connections() === 2; i++) {
    port.set(i % 2 ? 'syncing' : 'fresh', `v${i}`);
    if (i % 20 === 0) await new Promise((r) => setImmediate(r)); // lets the good subscriber read
  }
  await eventually(() => (server.connections() === 1 ? true : undefined), 10_000, 'the slow subscriber to be dropped');
  port.set('fresh', 'last');
  await eventually(() => (good.frames.some((f) => f.includes('"last"')) ? true : undefined), 10_000, 'the good subscriber to see the last push');
  t.pass();
  good.socket.destroy();
  slow.socket.destroy();
});

test('a client with too many requests in flight is closed, and others are served', async (t) => {
  const { socketPath, port } = await fakeServer(t, { maxInFlight: 4 });
  port.set('syncing');
  const c = await rawClient(socketPath);
  c.socket.write('{"type":"wait-fresh","data":{"id":1,"timeoutMs":60000}}\f'.repeat(5));
  await c.closed;
  t.is((await getStatus({ socketPath })).state, 'syncing');
});

test('past maxConnections new clients are turned away until others close', async (t) => {
  const { socketPath, server } = await fakeServer(t, { maxConnections: 10 });
  const idle = await Promise.all(Array.from({ length: 10 }, () => rawClient(socketPath)));
  await eventually(() => (server.connections() === 10 ? true : undefined), 5_000, 'ten connections');
  const refused = await t.throwsAsync(getStatus({ socketPath }));
  t.is((refused as AppError).code, 'E_DAEMON_UNREACHABLE');
  for (const c of idle) c.socket.destroy();
  t.is((await eventually(() => getStatus({ socketPath }).catch(() => undefined), 5_000, 'a free slot')).state, 'fresh');
});

test('bytes reach the frame decoder unchanged: invalid UTF-8 counts once against the cap', async (t) => {
  const { socketPath } = await fakeServer(t);
  const c = await rawClient(socketPath);
  // 700 KiB of 0xff inside a string: fine as bytes, 2.1 MB if decoded and re-encoded as UTF-8
  c.socket.write(Buffer.concat([Buffer.from('{"type":"status","data":{"id":"u","pad":"'), Buffer.alloc(700 * 1024, 0xff), Buffer.from('"}}\f')]));
  const reply = (await Promise.race([c.next(), c.closed.then(() => null)])) as { type: string } | null;
  t.is(reply?.type, 'status');
  c.socket.destroy();
});

test('two servers racing for one stale socket: exactly one wins, the other gets E_ALREADY_RUNNING', async (t) => {
  const dir = await tempDir(t, 'mcpi-');
  const runDir = path.join(dir, 'run');
  await mkdir(runDir, { mode: 0o700 });
  const socketPath = path.join(runDir, 's.sock');
  // a stale socket: bound, linked to the public name, then closed (the bound name goes, the link stays)
  const scratch = createServer();
  await new Promise<void>((r) => scratch.listen(path.join(runDir, 'x.sock'), () => r()));
  await link(path.join(runDir, 'x.sock'), socketPath);
  await new Promise<void>((r) => scratch.close(() => r()));
  t.true(existsSync(socketPath));

  const ports = [new FakePort(), new FakePort()];
  ports[1]!.set('stale', 'second');
  const results = await Promise.allSettled(ports.map((port) => startIpcServer({ socketPath, port })));
  for (const r of results) if (r.status === 'fulfilled') t.teardown(() => r.value.close());
  const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
  const losers = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as AppError] : []));
  t.is(winners.length, 1);
  t.is(losers[0]?.code, 'E_ALREADY_RUNNING');
  t.is((await getStatus({ socketPath })).state, ports[winners[0]!]!.status.state, 'the socket is the winner’s');
  t.is((await stat(socketPath)).mode & 0o777, 0o600);
});

test('a socket path too long for the OS is refused with E_USAGE, not silently cut', async (t) => {
  const dir = await tempDir(t, 'mcpi-');
  const socketPath = path.join(dir, 'x'.repeat(maxSocketPathBytes() - dir.length), 'daemon.sock');
  const error = await t.throwsAsync(startIpcServer({ socketPath, port: new FakePort() }));
  t.is((error as AppError).code, 'E_USAGE');
  t.regex(error!.message, /socket path too long/);
});

test('a shared sticky directory (like /tmp) is refused and left as it was', async (t) => {
  const dir = await tempDir(t, 'mcpi-');
  const shared = path.join(dir, 'shared');
  await mkdir(shared);
  await chmod(shared, 0o1777);
  const error = await t.throwsAsync(startIpcServer({ socketPath: path.join(shared, 's.sock'), port: new FakePort() }));
  t.is((error as AppError).code, 'E_INSECURE_PATH');
  t.is((await stat(shared)).mode & 0o7777, 0o1777);
});

test('close leaves alone a socket that is no longer ours', async (t) => {
  const { socketPath, server } = await fakeServer(t);
  const dir = path.dirname(socketPath);
  // someone removed our socket and another server took the path
  await unlink(socketPath);
  const other = await startIpcServer({ socketPath, port: new FakePort() });
  t.teardown(() => other.close());
  await server.close();
  t.true(existsSync(socketPath));
  t.is((await getStatus({ socketPath })).state, 'fresh');
  t.is(path.dirname(other.socketPath), dir);
});

test('the daemon’s error code reaches the client; an internal failure is reported without its text', async (t) => {
  const port = new FakePort();
  const { socketPath } = await fakeServer(t, {}, port);
  port.requestSync = () => Promise.reject(new AppError('E_DECRYPT', 'decrypt failed: config/secrets.enc.yaml', { hint: 'x' }));
  const known = await t.throwsAsync(sync({ socketPath }));
  t.is((known as AppError).code, 'E_DECRYPT');
  t.regex(known!.message, /E_DECRYPT: decrypt failed: config\/secrets\.enc\.yaml/);
  port.requestSync = () => Promise.reject(new Error('boom PLANTED-INTERNAL-TEXT'));
  const internal = await t.throwsAsync(sync({ socketPath }));
  t.regex(internal!.message, /E_INTERNAL/);
  t.false(internal!.message.includes('PLANTED-INTERNAL-TEXT'));
});

test('the client finds the socket exactly like the CLI: flag-free env rules, ~ and relative paths resolved', (t) => {
  t.is(defaultSocketPath({ MCP_SECRETS_SOCKET: '~/s.sock', HOME: '/h' }, '/cwd'), '/h/s.sock');
  t.is(defaultSocketPath({ MCP_SECRETS_SOCKET: 'rel/s.sock', HOME: '/h' }, '/cwd'), '/cwd/rel/s.sock');
  t.is(defaultSocketPath({ XDG_RUNTIME_DIR: '/run/user/7', HOME: '/h' }, '/cwd'), '/run/user/7/mcp-secrets/daemon.sock');
  t.is(defaultSocketPath({ XDG_RUNTIME_DIR: 'relative', MCP_HOME: 'm', HOME: '/h' }, '/cwd'), '/cwd/m/run/daemon.sock');
  t.is(defaultSocketPath({ HOME: '/h' }, '/cwd'), '/h/.mcp/run/daemon.sock');
});

test('a client that floods bad requests and reads none of the errors is dropped, and others are served', async (t) => {
  const { socketPath, server } = await fakeServer(t);
  const flood = await rawClient(socketPath);
  flood.socket.pause();
  flood.socket.write(Buffer.from('{}\f'.repeat(300_000)));
  await eventually(() => (server.connections() === 0 ? true : undefined), 10_000, 'the flooding client to be dropped');
  t.is((await getStatus({ socketPath })).state, 'fresh');
  flood.socket.destroy();
});
