/**
 * mcp-secrets/client: ask the daemon over its socket, for wrappers written in Node and for the
 * CLI's `status` and `tray`. It speaks node-ipc's wire format over plain `node:net`: importing
 * node-ipc costs 60–120 ms here, too much for a command a status bar runs every few seconds, and
 * node-ipc clients retry forever by default. No retries here: no daemon → E_DAEMON_UNREACHABLE at once.
 *
 * Cheap to import on purpose: nothing from the daemon, no winston, chokidar, execa or keytar.
 */
import { lstatSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { AppError, ERROR_CODES, sanitizeForMessage, type ErrorCode } from '../errors.js';
import { resolveHome, resolveSocketPath } from '../config/options.js';
import { FrameDecoder, encodeFrame } from './framing.js';
import type { StatusDocument } from './status.js';

export type { StatusDocument, DaemonState } from './status.js';

export interface ClientOptions {
  /** Default: $MCP_SECRETS_SOCKET, else $XDG_RUNTIME_DIR/mcp-secrets/daemon.sock, else <$MCP_HOME or ~/.mcp>/run/daemon.sock. */
  socketPath?: string;
  /** Whole-request timeout (default 5 s; wait-fresh adds its own wait). */
  timeoutMs?: number;
}

/** The default socket path, resolved from the environment exactly like the CLI does (src/config/options.ts). */
export function defaultSocketPath(env: Readonly<Record<string, string | undefined>> = process.env, cwd = process.cwd()): string {
  return resolveSocketPath({}, env, cwd, resolveHome({}, env, cwd));
}

let nextId = 0;

interface Reply {
  type: string;
  data: { id?: string | number; status?: StatusDocument; code?: string; message?: string };
}

const START_HINT = 'start it with `mcp-secrets service install` (or `mcp-secrets daemon`), or pass --socket';

/**
 * Why a connection failed, in words: no socket, a socket nobody listens on, or one we may not use
 * (EACCES: it, or its directory, belongs to another user). All are E_DAEMON_UNREACHABLE (exit 3),
 * but only the first two are fixed by starting a daemon.
 */
function unreachable(socketPath: string, cause: unknown): AppError {
  const errno = typeof cause === 'object' && cause !== null ? (cause as NodeJS.ErrnoException).code : undefined;
  const shown = sanitizeForMessage(socketPath, 400);
  if (errno === 'EACCES' || errno === 'EPERM') {
    const owner = ownerOf(socketPath);
    const uid = process.getuid?.();
    const whose = owner === null ? 'it or a directory above it is not accessible to you' : owner !== uid ? `it belongs to uid ${owner}, not to you (uid ${uid ?? '?'})` : 'its mode does not let you connect';
    return new AppError('E_DAEMON_UNREACHABLE', `permission denied (EACCES) connecting to the daemon socket ${shown}: ${whose}`, {
      hint: 'each user runs their own daemon: use yours (check --socket, MCP_SECRETS_SOCKET and XDG_RUNTIME_DIR), or start it with `mcp-secrets service install`',
      cause,
    });
  }
  if (errno === 'ECONNREFUSED') {
    return new AppError('E_DAEMON_UNREACHABLE', `no mcp-secrets daemon answers on ${shown} (the socket file is there, nothing listens: a daemon stopped or was killed)`, { hint: START_HINT, cause });
  }
  return new AppError('E_DAEMON_UNREACHABLE', `no mcp-secrets daemon answers on ${shown}${errno === 'ENOENT' ? ' (no socket there)' : ''}`, { hint: START_HINT, cause });
}

/** The uid owning `file`, or null when it cannot be looked at. */
function ownerOf(file: string): number | null {
  try {
    return lstatSync(file).uid;
  } catch {
    return null;
  }
}

/**
 * An error reply as an AppError: the daemon's code when it is one of ours (a failed `sync` keeps
 * E_DECRYPT…, a daemon bug is E_INTERNAL), E_INTERNAL for a code we do not know (a daemon of
 * another version, or a bug: never exit 64, which would blame the user). The daemon's message is
 * escaped and capped before it is shown.
 */
function refused(type: string, data: Reply['data']): AppError {
  const code: ErrorCode = (ERROR_CODES as readonly string[]).includes(String(data.code)) ? (data.code as ErrorCode) : 'E_INTERNAL';
  const shownCode = sanitizeForMessage(String(data.code ?? 'error'), 40);
  return new AppError(code, `the daemon refused "${type}": ${shownCode}: ${sanitizeForMessage(String(data.message ?? ''))}`, {
    hint: code === 'E_USAGE' ? 'check the request (docs/ipc-protocol.md); see the daemon log' : 'see `mcp-secrets status` and the daemon log',
  });
}

/** One connection; resolves with the socket once connected. */
function connect(socketPath: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(unreachable(socketPath, new Error('connect timed out')));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(unreachable(socketPath, error));
    });
  });
}

function readFrames(socket: Socket, onMessage: (message: Reply) => void): void {
  const decoder = new FrameDecoder();
  socket.on('data', (chunk: Buffer) => {
    let frames: string[];
    try {
      frames = decoder.push(chunk);
    } catch {
      socket.destroy(new Error('oversized reply'));
      return;
    }
    for (const text of frames) {
      try {
        onMessage(JSON.parse(text) as Reply);
      } catch {
        socket.destroy(new Error('malformed reply'));
        return;
      }
    }
  });
}

/** Sends one request and resolves with the reply that echoes its id. */
async function request(type: string, data: Record<string, unknown>, options: ClientOptions = {}, extraWaitMs = 0): Promise<Reply> {
  const socketPath = options.socketPath ?? defaultSocketPath();
  const timeoutMs = options.timeoutMs ?? 5_000;
  const socket = await connect(socketPath, timeoutMs);
  const id = `${process.pid}-${++nextId}`;
  return new Promise<Reply>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new AppError('E_DAEMON_UNREACHABLE', `the daemon on ${socketPath} did not answer "${type}" within ${timeoutMs + extraWaitMs} ms`, { hint: 'see `mcp-secrets status` and the daemon log' }));
    }, timeoutMs + extraWaitMs);
    readFrames(socket, (message) => {
      if (message.data?.id !== id) return;
      clearTimeout(timer);
      socket.end();
      if (message.type === 'error') reject(refused(type, message.data));
      else resolve(message);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      reject(
        new AppError('E_DAEMON_UNREACHABLE', `the daemon on ${socketPath} closed the connection before answering "${type}"`, {
          hint: 'see `mcp-secrets status` and the daemon log',
        }),
      );
    });
    socket.write(encodeFrame({ type, data: { ...data, id } }));
  });
}

function statusOf(reply: Reply): StatusDocument {
  if (reply.type !== 'status' || !reply.data.status) throw new AppError('E_DAEMON_UNREACHABLE', `unexpected reply "${reply.type}" from the daemon`);
  return reply.data.status;
}

/** The daemon's status document. */
export async function getStatus(options?: ClientOptions): Promise<StatusDocument> {
  return statusOf(await request('status', {}, options));
}

/** Resolves with the status once fresh, or with the current status after `timeoutMs`. */
export async function waitFresh(options: ClientOptions & { timeoutMs?: number } = {}): Promise<StatusDocument> {
  const wait = options.timeoutMs ?? 30_000;
  return statusOf(await request('wait-fresh', { timeoutMs: wait }, { ...options, timeoutMs: 5_000 }, wait));
}

/** Asks the daemon to sync now (also ends a lock set by purge); resolves with the status after it. */
export async function sync(options?: ClientOptions): Promise<StatusDocument> {
  return statusOf(await request('sync', {}, { ...options, timeoutMs: options?.timeoutMs ?? 60_000 }));
}

/** Clears the notices (e.g. RECIPIENTS_CHANGED). */
export async function ack(options?: ClientOptions): Promise<StatusDocument> {
  return statusOf(await request('ack', {}, options));
}

/** Puts the daemon in `locked`: it forgets its identity and stops publishing (used by purge). */
export async function lock(reason: string, options?: ClientOptions): Promise<StatusDocument> {
  return statusOf(await request('lock', { reason }, options));
}

/** Round trip check; resolves with the protocol version. */
export async function ping(options?: ClientOptions): Promise<number> {
  const reply = await request('ping', {}, options);
  return Number((reply.data as { protocol?: number }).protocol);
}

export interface Subscription {
  close(): void;
  /** Resolves when the connection ends (daemon gone, or close()). */
  readonly closed: Promise<void>;
}

/**
 * Calls `onStatus` with the current status, then on every change. `onError` hears a lost daemon
 * (E_DAEMON_UNREACHABLE); the subscription then ends: subscribe again to reconnect.
 */
export function subscribe(onStatus: (status: StatusDocument) => void, options: ClientOptions & { onError?: (error: AppError) => void } = {}): Subscription {
  const socketPath = options.socketPath ?? defaultSocketPath();
  let socket: Socket | null = null;
  let closedByUs = false;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  connect(socketPath, options.timeoutMs ?? 5_000).then(
    (s) => {
      socket = s;
      if (closedByUs) {
        s.destroy();
        return;
      }
      readFrames(s, (message) => {
        if ((message.type === 'status' || message.type === 'status-changed') && message.data.status) onStatus(message.data.status);
      });
      s.once('close', () => {
        if (!closedByUs) options.onError?.(unreachable(socketPath, new Error('the daemon closed the connection')));
        resolveClosed();
      });
      s.write(encodeFrame({ type: 'subscribe', data: { id: `${process.pid}-${++nextId}` } }));
    },
    (error: AppError) => {
      if (!closedByUs) options.onError?.(error);
      resolveClosed();
    },
  );
  return {
    closed,
    close: () => {
      closedByUs = true;
      socket?.destroy();
      if (!socket) resolveClosed();
    },
  };
}
