/**
 * The daemon's IPC server: node-ipc 12.0.0 (exact pin) carries the bytes over a Unix socket in
 * `rawBuffer` mode, with `silent` on; our code frames, caps, validates and answers.
 *
 * What node-ipc's defaults would do, and what we do instead (TOOLCHAIN.md):
 * - event mode crashes on frames like `{}` and lets clients spoof internal events → rawBuffer,
 *   our own parser (protocol.ts);
 * - unbounded buffering, rescanned per chunk → FrameDecoder with a 1 MiB cap per frame;
 * - it unlinks the path before listening (a second server steals the socket) → `unlink: false`,
 *   and our own single-instance check: someone answers → E_ALREADY_RUNNING; no one → stale, removed;
 * - it logs payloads → `silent`, and we log only types, counts and codes;
 * - socket created by the umask → inside a 0700 directory we own (so no one can reach it while
 *   it is briefly looser), then chmod 0600.
 * A bad client costs its own connection only: garbage or oversized input closes it; idle
 * connections that never finish a request are closed; slow subscribers are dropped.
 */
import { createConnection, type Socket } from 'node:net';
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { IPCModule } from 'node-ipc';
import { AppError, isAppError } from '../errors.js';
import { FrameDecoder, FrameTooLarge, MAX_FRAME_BYTES, encodeFrame, type Message } from './framing.js';
import { BadRequest, parseRequest, type Request, type RequestId } from './protocol.js';
import { PROTOCOL_VERSION, type StatusDocument } from './status.js';

/** What the server needs from the daemon; the daemon core implements it. */
export interface DaemonPort {
  getStatus(): StatusDocument;
  requestSync(): Promise<StatusDocument>;
  waitFresh(timeoutMs: number): Promise<StatusDocument>;
  acknowledge(): StatusDocument;
  lock(reason: string): StatusDocument;
  onStatusChange(listener: (status: StatusDocument) => void): () => void;
}

export interface IpcLogger {
  debug(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
}

export interface IpcServerOptions {
  socketPath: string;
  port: DaemonPort;
  logger?: IpcLogger;
  maxFrameBytes?: number;
  maxConnections?: number;
  /** A connection that has not completed a request within this time is closed (subscribers are exempt). */
  idleTimeoutMs?: number;
  /** A subscriber whose unread output passes this many bytes is dropped. */
  maxQueuedBytes?: number;
}

export interface IpcServer {
  readonly socketPath: string;
  /** Open connections (for tests and the benchmark). */
  connections(): number;
  close(): Promise<void>;
}

const quiet: IpcLogger = { debug: () => {}, info: () => {}, warn: () => {} };

/** The socket's directory: 0700 and ours. A looser mode we own is tightened; a link or a stranger's dir is refused. */
export async function prepareSocketDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await lstat(dir);
  const uid = process.getuid?.();
  if (info.isSymbolicLink() || !info.isDirectory()) {
    throw new AppError('E_INSECURE_PATH', `the socket directory ${dir} is not a plain directory`, { hint: `remove it, or pass --socket in a private directory` });
  }
  if (uid !== undefined && info.uid !== uid) {
    throw new AppError('E_INSECURE_PATH', `the socket directory ${dir} belongs to uid ${info.uid}, not to you`, { hint: 'pass --socket in a directory you own' });
  }
  if ((info.mode & 0o077) !== 0) await chmod(dir, 0o700);
}

/** True when something accepts a connection on the path (a live daemon). */
export function somethingListens(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(socketPath);
    const done = (answer: boolean): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(true)); // accepted but silent: still someone's socket
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function claimPath(socketPath: string): Promise<void> {
  let info;
  try {
    info = await lstat(socketPath);
  } catch {
    return; // nothing there
  }
  if (!info.isSocket()) {
    throw new AppError('E_INSECURE_PATH', `${socketPath} exists and is not a socket`, { hint: 'remove it, or pass another --socket' });
  }
  if (await somethingListens(socketPath)) {
    throw new AppError('E_ALREADY_RUNNING', `a daemon already answers on ${socketPath}`, {
      hint: 'use `mcp-secrets status`, or stop it first (`mcp-secrets service uninstall` or kill it)',
    });
  }
  await unlink(socketPath); // stale: left by a daemon that was killed
}

export async function startIpcServer(options: IpcServerOptions): Promise<IpcServer> {
  const log = options.logger ?? quiet;
  const maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const maxQueuedBytes = options.maxQueuedBytes ?? 4 * MAX_FRAME_BYTES;
  const socketPath = path.resolve(options.socketPath);
  await prepareSocketDir(path.dirname(socketPath));
  await claimPath(socketPath);

  const ipc = new IPCModule();
  Object.assign(ipc.config, {
    silent: true,
    rawBuffer: true,
    unlink: false,
    encoding: 'utf8',
    maxConnections: options.maxConnections ?? 1024,
    readableAll: false,
    writableAll: false,
  });

  const decoders = new WeakMap<Socket, FrameDecoder>();
  const unsubscribers = new Map<Socket, () => void>();
  const open = new Set<Socket>();

  const write = (socket: Socket, frame: string | Buffer): void => {
    if (socket.destroyed || !socket.writable) return;
    if (socket.writableLength > maxQueuedBytes) {
      log.warn('dropping a client that does not read its replies', { queuedBytes: socket.writableLength });
      socket.destroy();
      return;
    }
    socket.write(frame);
  };
  const send = (socket: Socket, message: Message): void => write(socket, encodeFrame(message));
  // the same status document is sent many times between changes: serialise it once
  const serialised = new WeakMap<StatusDocument, string>();
  const statusJson = (status: StatusDocument): string => {
    let json = serialised.get(status);
    if (json === undefined) serialised.set(status, (json = JSON.stringify(status)));
    return json;
  };
  const reply = (socket: Socket, id: RequestId, status: StatusDocument): void =>
    write(socket, `{"type":"status","data":{"id":${JSON.stringify(id)},"status":${statusJson(status)}}}\f`);
  const fail = (socket: Socket, id: RequestId | null, code: string, message: string): void => send(socket, { type: 'error', data: { id, code, message } });

  const handle = async (socket: Socket, request: Request): Promise<void> => {
    switch (request.type) {
      case 'status':
        return reply(socket, request.id, options.port.getStatus());
      case 'ping':
        return send(socket, { type: 'pong', data: { id: request.id, protocol: PROTOCOL_VERSION } });
      case 'sync':
        return reply(socket, request.id, await options.port.requestSync());
      case 'wait-fresh':
        return reply(socket, request.id, await options.port.waitFresh(request.timeoutMs));
      case 'ack':
        return reply(socket, request.id, options.port.acknowledge());
      case 'lock':
        log.info('lock requested over IPC', { reason: request.reason });
        return reply(socket, request.id, options.port.lock(request.reason));
      case 'subscribe': {
        if (!unsubscribers.has(socket)) {
          socket.setTimeout(0); // subscribers stay connected on purpose
          unsubscribers.set(socket, options.port.onStatusChange((status) => write(socket, `{"type":"status-changed","data":{"status":${statusJson(status)}}}\f`)));
        }
        return reply(socket, request.id, options.port.getStatus());
      }
    }
  };

  const onData = (data: Buffer, socket: Socket): void => {
    const decoder = decoders.get(socket);
    if (!decoder) return;
    let frames: string[];
    try {
      frames = decoder.push(data);
    } catch (error) {
      if (error instanceof FrameTooLarge) log.warn('closing a client that sent an oversized frame', { limit: maxFrameBytes });
      socket.destroy();
      return;
    }
    for (const text of frames) {
      let request: Request;
      try {
        request = parseRequest(text);
      } catch (error) {
        if (error instanceof BadRequest) {
          fail(socket, error.id, 'E_USAGE', error.message);
          continue;
        }
        log.debug('closing a client that sent bytes that are not a JSON frame');
        socket.destroy();
        return;
      }
      handle(socket, request).catch((error: unknown) => {
        const code = isAppError(error) ? error.code : 'E_INTERNAL';
        const message = isAppError(error) ? error.message : 'internal error: see the daemon log';
        if (!isAppError(error)) log.warn('request failed', { type: request.type, error: error instanceof Error ? error.message : String(error) });
        fail(socket, request.id, code, message);
      });
    }
  };

  const onConnect = (socket: Socket): void => {
    open.add(socket);
    decoders.set(socket, new FrameDecoder(maxFrameBytes));
    socket.setTimeout(idleTimeoutMs, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      open.delete(socket);
      unsubscribers.get(socket)?.();
      unsubscribers.delete(socket);
    });
  };

  await new Promise<void>((resolve, reject) => {
    ipc.serve(socketPath, () => resolve());
    ipc.server.on('connect', onConnect);
    ipc.server.on('data', onData);
    ipc.server.on('error', (error: Error) => {
      if (ipc.server.server && ipc.server.server.listening) log.debug('client socket error', { error: error.message });
      else reject(new AppError('E_WRITE', `cannot listen on ${socketPath}: ${error.message}`, { hint: 'check the socket directory', cause: error }));
    });
    ipc.server.start();
  });
  await chmod(socketPath, 0o600);
  log.info('listening', { socket: socketPath });

  let closed: Promise<void> | null = null;
  return {
    socketPath,
    connections: () => open.size,
    close: () =>
      (closed ??= (async () => {
        for (const unsubscribe of unsubscribers.values()) unsubscribe();
        unsubscribers.clear();
        const server = ipc.server.server;
        const done = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
        for (const socket of open) socket.destroy();
        await done;
        await unlink(socketPath).catch(() => undefined);
      })()),
  };
}
