/**
 * The daemon's IPC server: node-ipc 12.0.0 (exact pin) carries the bytes over a Unix socket in
 * `rawBuffer` mode, with `silent` on; our code frames, caps, validates and answers.
 *
 * What node-ipc's defaults would do, and what we do instead (TOOLCHAIN.md):
 * - event mode crashes on frames like `{}` and lets clients spoof internal events → rawBuffer,
 *   our own parser (protocol.ts);
 * - unbounded buffering, rescanned per chunk → FrameDecoder with a 1 MiB cap per frame;
 * - its `utf8` encoding decodes and re-encodes every chunk (invalid bytes grow threefold) →
 *   `latin1`, which hands us the client's bytes unchanged;
 * - it unlinks the path before listening (a second server steals the socket) → `unlink: false`
 *   and our own claim of the path (below);
 * - it logs payloads → `silent`, and we log only types, counts and codes, never request data;
 * - its sockets end as soon as the client shuts its writing side, so `printf … | socat` lost
 *   the reply to any request that takes time → half-open sockets, ended once answered.
 *
 * Claiming the path, and the races closed: the server listens on a private temporary name in
 * the 0700 directory, the socket is chmod 0600 there, and only then is it hard-linked to the
 * public path. link() fails if the path exists, so (1) the socket is never reachable under its
 * public name with the umask's mode, and (2) two daemons starting at once cannot both take the
 * path: the loser gets E_ALREADY_RUNNING. A socket already at the path is probed first: someone
 * answers → E_ALREADY_RUNNING; ECONNREFUSED → stale (a killed daemon), removed if it is still
 * the same file. What remains: two daemons that both find the same stale file within the same
 * few microseconds; service managers start one.
 *
 * The path is checked before anything changes (prepareSocketPath): only the socket's own
 * directory is ever created or tightened, never one above it or one holding others' files.
 *
 * A bad client costs its own connection only: garbage or oversized input closes it; a
 * connection that completes no request within the idle timeout is closed (one that trickles
 * bytes too); too many requests in flight close it; slow subscribers are dropped.
 */
import { createConnection, type Socket } from 'node:net';
import type { Dirent, Stats } from 'node:fs';
import { chmod, link, lstat, mkdir, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { ReportingLogger } from '../log.js';
import { performance } from 'node:perf_hooks';
import { IPCModule } from 'node-ipc';
import { AppError, isAppError, sanitizeForMessage } from '../errors.js';
import { FrameDecoder, FrameTooLarge, MAX_FRAME_BYTES, encodeFrame, type Message } from './framing.js';
import { BadRequest, parseRequest, type Request, type RequestId } from './protocol.js';
import { PROTOCOL_VERSION, type StatusDocument } from './status.js';

/** What the server needs from the daemon; the daemon core implements it. */
export interface DaemonPort {
  getStatus(): StatusDocument;
  requestSync(): Promise<StatusDocument>;
  /** Resolves with the status once fresh, or with the current status at the timeout. */
  waitFresh(timeoutMs: number): Promise<StatusDocument>;
  acknowledge(): StatusDocument | Promise<StatusDocument>;
  lock(reason: string): Promise<StatusDocument>;
  /** Returns the unsubscribe function. */
  onStatusChange(listener: (status: StatusDocument) => void): () => void;
}

/** The server reports through any logger (the daemon passes `logger.child('ipc')`). */
export type IpcLogger = ReportingLogger;

export interface IpcServerOptions {
  socketPath: string;
  port: DaemonPort;
  logger?: IpcLogger;
  /** Default 1 MiB. */
  maxFrameBytes?: number;
  /** Default 1024; connections past it are refused by the kernel-side listener. */
  maxConnections?: number;
  /**
   * A connection that completes no request for this long is closed (default 60 s). Bytes that
   * do not complete a frame do not count; subscribers and requests still being answered
   * (`sync`, `wait-fresh`) are exempt.
   */
  idleTimeoutMs?: number;
  /** A client whose unread replies pass this many bytes is dropped (default 4 MiB). */
  maxQueuedBytes?: number;
  /** Requests one connection may have waiting for an answer (default 64); past it, it is closed. */
  maxInFlight?: number;
}

export interface IpcServer {
  readonly socketPath: string;
  /** Open connections (for tests and the benchmark). */
  connections(): number;
  /** Stops listening, closes every connection and removes the socket (if it is still ours). */
  close(): Promise<void>;
}

const quiet: IpcLogger = { debug: () => {}, info: () => {}, warn: () => {} };

/** The longest socket path the OS keeps (sun_path less its NUL); libuv silently cuts longer ones. */
export function maxSocketPathBytes(platform: NodeJS.Platform = process.platform): number {
  return platform === 'darwin' || platform.endsWith('bsd') ? 103 : 107;
}

function checkPathLength(socketPath: string): void {
  const bytes = Buffer.byteLength(socketPath);
  if (bytes > maxSocketPathBytes()) {
    throw new AppError('E_USAGE', `socket path too long: ${socketPath} is ${bytes} bytes, a Unix socket path holds at most ${maxSocketPathBytes()}`, {
      hint: 'pass a shorter --socket (or $MCP_SECRETS_SOCKET), e.g. under $XDG_RUNTIME_DIR',
    });
  }
}

/** The file-system calls the socket-path checks make; a seam so tests can watch every change. */
export interface SocketDirFs {
  /** `lstat`, or null when nothing is there. */
  lstat(path: string): Promise<Stats | null>;
  /** `mkdir -p`; returns the first directory it created (undefined: it created none). */
  mkdir(path: string, mode: number): Promise<string | undefined>;
  chmod(path: string, mode: number): Promise<void>;
  readdir(path: string): Promise<Dirent[]>;
}

const realSocketDirFs: SocketDirFs = {
  lstat: (p) =>
    lstat(p).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    }),
  mkdir: (p, mode) => mkdir(p, { recursive: true, mode }),
  chmod: (p, mode) => chmod(p, mode),
  readdir: (p) => readdir(p, { withFileTypes: true }),
};

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

/** Our private listening names (see startIpcServer): a dot and base-36 digits. */
const LISTEN_NAME = /^\.[0-9a-z]+$/;

/**
 * Checks a socket path and its directory, and only once every check has passed makes the one
 * change allowed: the directory is created 0700 when missing, and tightened to 0700 when it holds
 * nothing but sockets of ours (the socket's own name, our listening names). Nothing above that
 * directory is ever changed, and a directory holding anything else is refused with the `chmod`
 * to run: `--socket /tmp/x/d` must not close /tmp/x, `--socket /` must not close `/`.
 *
 * @throws AppError `E_INSECURE_PATH`: the path names no socket file (a directory, `/`, a regular
 *   file), the directory is a link, not ours, shared (sticky), or open to others and not ours to close.
 */
export async function prepareSocketPath(socketPath: string, deps: { fs?: SocketDirFs; uid?: number } = {}): Promise<void> {
  const fs = deps.fs ?? realSocketDirFs;
  const uid = 'uid' in deps ? deps.uid : process.getuid?.();
  const resolved = path.resolve(socketPath);
  const dir = path.dirname(resolved);
  const name = path.basename(resolved);
  if (dir === resolved || name === '' || socketPath.endsWith('/')) {
    throw new AppError('E_INSECURE_PATH', `${socketPath} is not a socket path (it names a directory)`, { hint: 'pass --socket as a file path, e.g. $XDG_RUNTIME_DIR/mcp-secrets/daemon.sock' });
  }
  let info = await fs.lstat(dir);
  if (info === null) {
    // nothing there, so nothing of anyone else's can change: create it (and only what is missing)
    const created = await fs.mkdir(dir, 0o700);
    // the mode given to mkdir is filtered by the umask; chmod only what this call created
    if (created !== undefined) await fs.chmod(dir, 0o700);
    info = await fs.lstat(dir);
    if (info === null) throw new AppError('E_INSECURE_PATH', `the socket directory ${dir} vanished while it was being created`, { hint: 'try again' });
  }
  checkSocketDir(dir, info, uid);
  const existing = await fs.lstat(resolved);
  if (existing !== null && !existing.isSocket()) {
    throw new AppError('E_INSECURE_PATH', `${resolved} exists and is not a socket`, { hint: 'remove it, or pass another --socket' });
  }
  if ((info.mode & 0o077) === 0) return;
  const foreign = (await fs.readdir(dir)).filter((entry) => !(entry.isSocket() && (entry.name === name || LISTEN_NAME.test(entry.name))));
  if (foreign.length > 0) {
    throw new AppError('E_INSECURE_PATH', `the socket directory ${dir} is open to others (mode ${octal(info.mode)}) and holds files that are not mcp-secrets' (e.g. ${sanitizeForMessage(foreign[0]?.name ?? '')})`, {
      hint: `if that directory is yours to close: chmod 700 ${dir}; otherwise pass --socket in a private directory, e.g. $XDG_RUNTIME_DIR/mcp-secrets/daemon.sock`,
    });
  }
  await fs.chmod(dir, 0o700);
}

function checkSocketDir(dir: string, info: Stats, uid: number | undefined): void {
  if (info.isSymbolicLink() || !info.isDirectory()) {
    throw new AppError('E_INSECURE_PATH', `the socket directory ${dir} is not a plain directory`, { hint: `remove it, or pass --socket in a private directory` });
  }
  if (uid !== undefined && info.uid !== uid) {
    throw new AppError('E_INSECURE_PATH', `the socket directory ${dir} belongs to uid ${info.uid}, not to you`, { hint: 'pass --socket in a directory you own' });
  }
  if ((info.mode & 0o1000) !== 0) {
    throw new AppError('E_INSECURE_PATH', `the socket directory ${dir} is a shared (sticky) directory`, { hint: 'pass --socket in a private directory, e.g. $XDG_RUNTIME_DIR/mcp-secrets/daemon.sock' });
  }
}

/**
 * Probes a socket path: `live` when something accepts a connection (or accepts and stays
 * silent), `stale` only on ECONNREFUSED (a socket file nobody listens on), `gone` when the file
 * vanished meanwhile, `unknown` otherwise (e.g. EAGAIN from a live daemon's full backlog: never
 * treated as stale).
 */
export function probeSocket(socketPath: string, timeoutMs = 1000): Promise<'live' | 'stale' | 'gone' | 'unknown'> {
  return new Promise((resolve) => {
    const socket = createConnection(socketPath);
    const done = (answer: 'live' | 'stale' | 'gone' | 'unknown'): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done('live'));
    socket.once('connect', () => done('live'));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED' ? 'stale' : error.code === 'ENOENT' ? 'gone' : 'unknown'));
  });
}

/** True when something accepts a connection on the path (a live daemon). */
export async function somethingListens(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return (await probeSocket(socketPath, timeoutMs)) === 'live';
}

/**
 * Refuses early, changing nothing, when a daemon already answers on the path: a second daemon
 * must exit before it touches home or creates its logs. (startIpcServer checks again when it
 * claims the path.)
 *
 * @throws AppError `E_ALREADY_RUNNING`.
 */
export async function assertNoDaemonOn(socketPath: string): Promise<void> {
  if (await somethingListens(path.resolve(socketPath))) throw alreadyRunning(path.resolve(socketPath));
}

function alreadyRunning(socketPath: string, detail = 'a daemon already answers on'): AppError {
  return new AppError('E_ALREADY_RUNNING', `${detail} ${socketPath}`, {
    hint: 'use `mcp-secrets status`, or stop it first (`mcp-secrets service uninstall` or kill it)',
  });
}

/** Clears the public path for us: nothing there, or a stale socket (removed); anything else is refused. */
async function clearPath(socketPath: string, log: IpcLogger): Promise<void> {
  let info;
  try {
    info = await lstat(socketPath);
  } catch {
    return; // nothing there
  }
  if (!info.isSocket()) {
    throw new AppError('E_INSECURE_PATH', `${socketPath} exists and is not a socket`, { hint: 'remove it, or pass another --socket' });
  }
  const probe = await probeSocket(socketPath);
  if (probe === 'live') throw alreadyRunning(socketPath);
  if (probe === 'unknown') throw alreadyRunning(socketPath, 'a socket that may belong to a running daemon (it neither answers nor refuses) is at');
  if (probe === 'gone') return;
  // remove the stale file only if it is still the one probed, not a daemon that just took the path
  const again = await lstat(socketPath).catch(() => null);
  if (again && again.ino === info.ino && again.dev === info.dev) {
    await unlink(socketPath).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    log.info('removed a stale socket left by an earlier daemon', { socket: socketPath });
  }
}

let listenSeq = 0;

interface Connection {
  readonly socket: Socket;
  readonly decoder: FrameDecoder;
  /** Requests received and not answered yet. */
  inFlight: number;
  unsubscribe: (() => void) | null;
  /** When this connection last completed a frame or got an answer (performance.now()). */
  lastProgressAt: number;
  /** The client shut its writing side (socat, `nc -N`, shutdown(SHUT_WR)): answer, then end. */
  clientEnded: boolean;
}

/**
 * Starts the server. Throws E_INSECURE_PATH (directory or path not safe), E_ALREADY_RUNNING
 * (a daemon answers on the path, or won the race for it), E_USAGE (path too long for a socket).
 */
export async function startIpcServer(options: IpcServerOptions): Promise<IpcServer> {
  const log = options.logger ?? quiet;
  const maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const maxQueuedBytes = options.maxQueuedBytes ?? 4 * MAX_FRAME_BYTES;
  const maxInFlight = options.maxInFlight ?? 64;
  const socketPath = path.resolve(options.socketPath);
  const dir = path.dirname(socketPath);
  // private name for the listening phase: short, so it fits wherever the public name fits
  const tempPath = path.join(dir, `.${process.pid.toString(36)}${(listenSeq++).toString(36)}`);
  checkPathLength(socketPath);
  checkPathLength(tempPath);
  await prepareSocketPath(socketPath);
  await clearPath(socketPath, log);
  await unlink(tempPath).catch(() => undefined); // left by a crash of an earlier process with our pid

  const ipc = new IPCModule();
  Object.assign(ipc.config, {
    silent: true,
    rawBuffer: true,
    unlink: false,
    encoding: 'latin1',
    maxConnections: options.maxConnections ?? 1024,
    readableAll: false,
    writableAll: false,
  });

  const connections = new Map<Socket, Connection>();

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
  // The same status document is sent many times between changes: serialise and encode it once,
  // with the end of the reply frame, so a reply is a short id prefix and shared bytes (one copy).
  const serialised = new WeakMap<StatusDocument, { json: string; tail: Buffer }>();
  const encoded = (status: StatusDocument): { json: string; tail: Buffer } => {
    let entry = serialised.get(status);
    if (entry === undefined) {
      const json = JSON.stringify(status);
      entry = { json, tail: Buffer.from(`,"status":${json}}}\f`, 'utf8') };
      serialised.set(status, entry);
    }
    return entry;
  };
  const reply = (socket: Socket, id: RequestId, status: StatusDocument): void => {
    const prefix = `{"type":"status","data":{"id":${JSON.stringify(id)}`;
    const tail = encoded(status).tail;
    const frame = Buffer.allocUnsafe(Buffer.byteLength(prefix) + tail.length);
    tail.copy(frame, frame.write(prefix, 0, 'utf8'));
    write(socket, frame);
  };
  const fail = (socket: Socket, id: RequestId | null, code: string, message: string): void => send(socket, { type: 'error', data: { id, code, message } });
  const endIfDone = (conn: Connection): void => {
    if (conn.clientEnded && conn.inFlight === 0 && !conn.unsubscribe && !conn.socket.destroyed) conn.socket.end();
  };

  const handle = async (conn: Connection, request: Request): Promise<void> => {
    const socket = conn.socket;
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
        return reply(socket, request.id, await options.port.acknowledge());
      case 'lock':
        log.info('lock requested over IPC'); // the reason is client data: not logged
        return reply(socket, request.id, await options.port.lock(request.reason));
      case 'subscribe': {
        conn.unsubscribe ??= options.port.onStatusChange((status) => write(socket, `{"type":"status-changed","data":{"status":${encoded(status).json}}}\f`));
        return reply(socket, request.id, options.port.getStatus());
      }
    }
  };

  const onData = (data: Buffer, socket: Socket): void => {
    const conn = connections.get(socket);
    if (!conn || socket.destroyed) return;
    let frames: string[];
    try {
      frames = conn.decoder.push(data);
    } catch (error) {
      if (error instanceof FrameTooLarge) log.warn('closing a client that sent an oversized frame', { limit: maxFrameBytes });
      socket.destroy();
      return;
    }
    for (const text of frames) {
      if (socket.destroyed) return; // dropped mid-chunk (e.g. not reading its replies): the rest is moot
      conn.lastProgressAt = performance.now();
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
      if (conn.inFlight >= maxInFlight) {
        log.warn('closing a client with too many requests in flight', { limit: maxInFlight });
        socket.destroy();
        return;
      }
      // status and ping are answered at once: no promise per request on the busiest path
      if (request.type === 'status') {
        reply(socket, request.id, options.port.getStatus());
        endIfDone(conn);
        continue;
      }
      if (request.type === 'ping') {
        send(socket, { type: 'pong', data: { id: request.id, protocol: PROTOCOL_VERSION } });
        endIfDone(conn);
        continue;
      }
      conn.inFlight++;
      handle(conn, request)
        .catch((error: unknown) => {
          const code = isAppError(error) ? error.code : 'E_INTERNAL';
          const message = isAppError(error) ? sanitizeForMessage(error.message) : 'internal error: see the daemon log';
          if (!isAppError(error)) log.warn('request failed', { type: request.type, error: error instanceof Error ? error.name : typeof error });
          fail(socket, request.id, code, message);
        })
        .finally(() => {
          conn.inFlight--;
          conn.lastProgressAt = performance.now();
          endIfDone(conn);
        });
    }
  };

  const onConnect = (socket: Socket): void => {
    const conn: Connection = { socket, decoder: new FrameDecoder(maxFrameBytes), inFlight: 0, unsubscribe: null, lastProgressAt: performance.now(), clientEnded: false };
    connections.set(socket, conn);
    socket.on('error', () => socket.destroy());
    socket.on('end', () => {
      conn.clientEnded = true;
      endIfDone(conn);
    });
    socket.once('close', () => {
      connections.delete(socket);
      conn.unsubscribe?.();
      conn.unsubscribe = null;
    });
  };

  await new Promise<void>((resolve, reject) => {
    ipc.serve(tempPath, () => resolve());
    ipc.server.on('connect', onConnect);
    ipc.server.on('data', onData);
    ipc.server.on('error', (error: Error) => {
      if (ipc.server.server && ipc.server.server.listening) log.debug('client socket error', { error: (error as NodeJS.ErrnoException).code ?? error.name });
      else reject(new AppError('E_WRITE', `cannot listen on ${socketPath}: ${sanitizeForMessage(error.message)}`, { hint: 'check the socket directory', cause: error }));
    });
    ipc.server.start();
    // start() created the net.Server synchronously; no connection can arrive before listen completes
    if (ipc.server.server) ipc.server.server.allowHalfOpen = true;
  });

  const stopListening = (): Promise<void> => {
    const server = ipc.server.server;
    const done = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    for (const socket of connections.keys()) socket.destroy();
    return done;
  };
  let ino: number;
  let dev: number;
  try {
    await chmod(tempPath, 0o600);
    try {
      await link(tempPath, socketPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw alreadyRunning(socketPath, 'another daemon took the socket first:');
      throw new AppError('E_WRITE', `cannot create the socket ${socketPath}: ${sanitizeForMessage((error as Error).message)}`, { hint: 'check the socket directory', cause: error });
    }
    ({ ino, dev } = await lstat(socketPath));
  } catch (error) {
    await stopListening();
    throw error;
  } finally {
    await unlink(tempPath).catch(() => undefined);
  }
  log.info('listening', { socket: socketPath });

  // one sweep for all connections: closes those that completed no request for idleTimeoutMs
  const isIdle = (conn: Connection, now: number) => !conn.unsubscribe && conn.inFlight === 0 && now - conn.lastProgressAt > idleTimeoutMs;
  const sweeper = setInterval(
    () => {
      const suspects = [...connections.values()].filter((conn) => isIdle(conn, performance.now()));
      if (suspects.length === 0) return;
      // timers run before the poll phase: after a stalled event loop, a request that already sits in
      // the socket's buffer has not been read yet. Deciding after one turn (setImmediate runs after
      // poll) lets it count, so a busy daemon does not drop a client that did write in time.
      setImmediate(() => {
        for (const conn of suspects) {
          if (!connections.has(conn.socket) || !isIdle(conn, performance.now())) continue;
          log.debug('closing an idle client', { buffered: conn.decoder.buffered });
          conn.socket.destroy();
        }
      });
    },
    Math.max(20, Math.min(idleTimeoutMs / 4, 5_000)),
  );
  sweeper.unref();

  let closed: Promise<void> | null = null;
  return {
    socketPath,
    connections: () => connections.size,
    close: () =>
      (closed ??= (async () => {
        clearInterval(sweeper);
        for (const conn of connections.values()) conn.unsubscribe?.();
        await stopListening();
        // remove the public name only while it is still our socket
        const now = await lstat(socketPath).catch(() => null);
        if (now && now.ino === ino && now.dev === dev) await unlink(socketPath).catch(() => undefined);
      })()),
  };
}
