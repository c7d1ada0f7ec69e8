/**
 * The daemon's IPC server: node-ipc 12.0.0 (exact pin) carries the bytes over a Unix socket in
 * `rawBuffer` mode, with `silent` on; our code frames, caps, validates and answers. This module
 * only composes the parts, each with one job:
 * - socket-claim.ts: checking the path and its directory, claiming it (one daemon per path),
 *   and removing it on close only while it is still ours;
 * - connection.ts: one client's decoder, limits and replies;
 * - dispatch.ts: what a request is answered with (pure, no socket);
 * - here: node-ipc's set-up and the idle sweep over all connections.
 *
 * What node-ipc's defaults would do, and what we do instead (TOOLCHAIN.md):
 * - event mode crashes on frames like `{}` and lets clients spoof internal events → rawBuffer,
 *   our own parser (protocol.ts);
 * - unbounded buffering, rescanned per chunk → FrameDecoder with a 1 MiB cap per frame;
 * - its `utf8` encoding decodes and re-encodes every chunk (invalid bytes grow threefold) →
 *   `latin1`, which hands us the client's bytes unchanged;
 * - it unlinks the path before listening (a second server steals the socket) → `unlink: false`
 *   and our own claim of the path (socket-claim.ts);
 * - it logs payloads → `silent`, and we log only types, counts and codes, never request data;
 * - its sockets end as soon as the client shuts its writing side, so `printf … | socat` lost
 *   the reply to any request that takes time → half-open sockets, ended once answered.
 *
 * A connection that completes no request within the idle timeout is closed (one that trickles
 * bytes too); subscribers and requests still being answered are exempt.
 */
import type { Socket } from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { IPCModule } from 'node-ipc';
import type { ReportingLogger } from '../log.js';
import { AppError, sanitizeForMessage } from '../errors.js';
import { MAX_FRAME_BYTES } from './framing.js';
import type { DaemonPort } from './dispatch.js';
import { Connection, StatusFrames, type ConnectionLimits } from './connection.js';
import { claimSocketPath, type StopListening } from './socket-claim.js';

// the path checks live in socket-claim.ts; they are exported from here too, as before the split
export { assertNoDaemonOn, maxSocketPathBytes, prepareSocketPath, probeSocket, somethingListens, type SocketDirFs } from './socket-claim.js';
export type { DaemonPort } from './dispatch.js';

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

/**
 * Starts the server. Throws E_INSECURE_PATH (directory or path not safe), E_ALREADY_RUNNING
 * (a daemon answers on the path, or won the race for it), E_USAGE (path too long for a socket).
 */
export async function startIpcServer(options: IpcServerOptions): Promise<IpcServer> {
  const log = options.logger ?? quiet;
  const limits: ConnectionLimits = {
    maxFrameBytes: options.maxFrameBytes ?? MAX_FRAME_BYTES,
    maxQueuedBytes: options.maxQueuedBytes ?? 4 * MAX_FRAME_BYTES,
    maxInFlight: options.maxInFlight ?? 64,
  };
  const deps = { port: options.port, log, limits, frames: new StatusFrames() };
  const connections = new Map<Socket, Connection>();
  const onConnect = (socket: Socket): void => {
    connections.set(socket, new Connection(socket, deps));
    socket.once('close', () => connections.delete(socket));
  };
  const onData = (data: Buffer, socket: Socket): void => connections.get(socket)?.receive(data);

  let listening: IPCModule | null = null;
  const stopListening = (): Promise<void> => {
    const server = listening?.server.server;
    const done = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    for (const socket of connections.keys()) socket.destroy();
    return done;
  };
  const publicPath = path.resolve(options.socketPath);
  const listen = async (privatePath: string): Promise<StopListening> => {
    listening = await serve(privatePath, { maxConnections: options.maxConnections ?? 1024, onConnect, onData, log, publicPath });
    return stopListening;
  };
  const claim = await claimSocketPath(publicPath, listen, log);
  log.info('listening', { socket: claim.socketPath });
  const sweeper = sweepIdleConnections(connections, options.idleTimeoutMs ?? 60_000, log);

  let closed: Promise<void> | null = null;
  return {
    socketPath: claim.socketPath,
    connections: () => connections.size,
    close: () =>
      (closed ??= (async () => {
        clearInterval(sweeper);
        for (const conn of connections.values()) conn.stopForwarding();
        await stopListening();
        await claim.release();
      })()),
  };
}

/** What `serve` needs: the listener's limit, the handlers, and the public path for its error message. */
interface ServeOptions {
  maxConnections: number;
  onConnect(socket: Socket): void;
  onData(data: Buffer, socket: Socket): void;
  log: IpcLogger;
  publicPath: string;
}

/**
 * Has node-ipc listen on `privatePath` with our settings (see the header); resolves once it listens.
 *
 * @throws AppError `E_WRITE` when it cannot listen.
 */
function serve(privatePath: string, on: ServeOptions): Promise<IPCModule> {
  const ipc = new IPCModule();
  Object.assign(ipc.config, {
    silent: true,
    rawBuffer: true,
    unlink: false,
    encoding: 'latin1',
    maxConnections: on.maxConnections,
    readableAll: false,
    writableAll: false,
  });
  return new Promise<IPCModule>((resolve, reject) => {
    ipc.serve(privatePath, () => resolve(ipc));
    ipc.server.on('connect', on.onConnect);
    ipc.server.on('data', on.onData);
    ipc.server.on('error', (error: Error) => {
      if (ipc.server.server && ipc.server.server.listening) on.log.debug('client socket error', { error: (error as NodeJS.ErrnoException).code ?? error.name });
      else reject(new AppError('E_WRITE', `cannot listen on ${on.publicPath}: ${sanitizeForMessage(error.message)}`, { hint: 'check the socket directory', cause: error }));
    });
    ipc.server.start();
    // start() created the net.Server synchronously; no connection can arrive before listen completes
    if (ipc.server.server) ipc.server.server.allowHalfOpen = true;
  });
}

/**
 * One sweep for all connections: closes those that completed no request for `idleTimeoutMs`.
 * The timer is unref'd: it never keeps the process alive.
 */
function sweepIdleConnections(connections: ReadonlyMap<Socket, Connection>, idleTimeoutMs: number, log: IpcLogger): NodeJS.Timeout {
  const sweeper = setInterval(
    () => {
      const suspects = [...connections.values()].filter((conn) => conn.isIdle(performance.now(), idleTimeoutMs));
      if (suspects.length === 0) return;
      // timers run before the poll phase: after a stalled event loop, a request that already sits in
      // the socket's buffer has not been read yet. Deciding after one turn (setImmediate runs after
      // poll) lets it count, so a busy daemon does not drop a client that did write in time.
      setImmediate(() => {
        for (const conn of suspects) {
          if (!connections.has(conn.socket) || !conn.isIdle(performance.now(), idleTimeoutMs)) continue;
          log.debug('closing an idle client', { buffered: conn.buffered });
          conn.socket.destroy();
        }
      });
    },
    Math.max(20, Math.min(idleTimeoutMs / 4, 5_000)),
  );
  sweeper.unref();
  return sweeper;
}
