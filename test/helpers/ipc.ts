/** A fake daemon behind a real IPC server, and raw socket clients, for the IPC tests. */
import { createConnection, type Socket } from 'node:net';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { startIpcServer, type DaemonPort, type IpcServer, type IpcServerOptions } from '../../src/ipc/server.js';
import { PROTOCOL_VERSION, type StatusDocument, type DaemonState } from '../../src/ipc/status.js';
import { tempDir } from './temp.js';

export function fakeStatus(state: DaemonState = 'fresh', secretsVersion = 'v1'): StatusDocument {
  return {
    protocol: PROTOCOL_VERSION,
    state,
    fresh: state === 'fresh',
    secretsVersion,
    source: { path: '/repo/config/secrets.enc.yaml', exists: true, sha256: 'a'.repeat(64), commit: null, dirty: null },
    lastSync: null,
    outputs: [],
    entries: 3,
    identity: { source: 'env', recipients: [], opens: true, opensNothing: [] },
    notices: [],
    daemon: { pid: process.pid, version: '0.0.0', startedAt: new Date(0).toISOString(), socket: '/x' },
  };
}

/** An in-memory DaemonPort whose state the test sets. */
export class FakePort implements DaemonPort {
  status = fakeStatus();
  syncs = 0;
  private listeners = new Set<(s: StatusDocument) => void>();
  set(state: DaemonState, version = this.status.secretsVersion ?? 'v1'): void {
    this.status = fakeStatus(state, version);
    for (const l of this.listeners) l(this.status);
  }
  getStatus = (): StatusDocument => this.status;
  requestSync = async (): Promise<StatusDocument> => {
    this.syncs++;
    return this.status;
  };
  waitFresh = (timeoutMs: number): Promise<StatusDocument> =>
    this.status.fresh
      ? Promise.resolve(this.status)
      : new Promise((resolve) => {
          const timer = setTimeout(() => {
            off();
            resolve(this.status);
          }, timeoutMs);
          const off = this.onStatusChange((s) => {
            if (s.fresh) {
              clearTimeout(timer);
              off();
              resolve(s);
            }
          });
        });
  acknowledge = (): StatusDocument => this.status;
  lock = async (): Promise<StatusDocument> => {
    this.set('locked');
    return this.status;
  };
  /** Listeners registered right now (subscribers and waits). */
  listenerCount = (): number => this.listeners.size;
  onStatusChange = (listener: (s: StatusDocument) => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}

export async function fakeServer(
  t: ExecutionContext,
  options: Partial<Omit<IpcServerOptions, 'socketPath' | 'port'>> = {},
  port: FakePort = new FakePort(),
): Promise<{ server: IpcServer; port: FakePort; socketPath: string }> {
  const dir = await tempDir(t, 'mcpi-');
  const socketPath = path.join(dir, 'run', 's.sock');
  const server = await startIpcServer({ socketPath, port, ...options });
  t.teardown(() => server.close());
  return { server, port, socketPath };
}

/** A raw client: write anything, read frames. */
export async function rawClient(socketPath: string): Promise<{ socket: Socket; frames: string[]; next(): Promise<Record<string, unknown>>; closed: Promise<void> }> {
  const socket = createConnection(socketPath);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  const frames: string[] = [];
  let buf = '';
  const waiters: (() => void)[] = [];
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\f')) >= 0) {
      frames.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      waiters.shift()?.();
    }
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  let read = 0;
  return {
    socket,
    frames,
    closed,
    next: async () => {
      if (frames.length <= read) await new Promise<void>((r) => waiters.push(r));
      return JSON.parse(frames[read++]!) as Record<string, unknown>;
    },
  };
}
