/**
 * Claiming the socket path: only one daemon per path, the socket never reachable under its public
 * name with the umask's mode, and nothing of anyone else's changed or removed.
 *
 * The path is checked before anything changes (prepareSocketPath): only the socket's own
 * directory is ever created or tightened, never one above it or one holding others' files.
 *
 * The races closed: the server listens on a private temporary name in the 0700 directory, the
 * socket is chmod 0600 there, and only then is it hard-linked to the public path. link() fails if
 * the path exists, so (1) the socket is never reachable under its public name with the umask's
 * mode, and (2) two daemons starting at once cannot both take the path: the loser gets
 * E_ALREADY_RUNNING. A socket already at the path is probed first: someone answers →
 * E_ALREADY_RUNNING; ECONNREFUSED → stale (a killed daemon), removed if it is still the same
 * file. What remains: two daemons that both find the same stale file within the same few
 * microseconds; service managers start one. On release, the public name is removed only while it
 * is still the socket we linked there.
 */
import { createConnection } from 'node:net';
import type { Dirent, Stats } from 'node:fs';
import { chmod, link, lstat, mkdir, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { ReportingLogger } from '../log.js';
import { AppError, sanitizeForMessage } from '../errors.js';

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

/** Our private listening names (see claimSocketPath): a dot and base-36 digits. */
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
async function clearPath(socketPath: string, log: ReportingLogger): Promise<void> {
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

/** Stops listening on the private name (and closes what it accepted). */
export type StopListening = () => Promise<void>;

/** The public socket path, held by this process until released. */
export interface SocketClaim {
  /** The public path, resolved. */
  readonly socketPath: string;
  /** Removes the public name, only while it is still the socket this claim linked there. */
  release(): Promise<void>;
}

let listenSeq = 0;

/**
 * Claims `socketPath` for a server: checks the path and its directory, clears a stale socket,
 * has `listen` start listening on a private name beside it, makes that socket 0600 and links it
 * to the public name. On any failure after `listen`, the listener is stopped before the error is
 * thrown; the private name never outlives this call.
 *
 * @throws AppError `E_USAGE` (the path is too long for a socket), `E_INSECURE_PATH` (the
 *   directory or path is not safe), `E_ALREADY_RUNNING` (a daemon answers on the path, or won the
 *   race for it), `E_WRITE` (the socket cannot be created).
 */
export async function claimSocketPath(socketPath: string, listen: (privatePath: string) => Promise<StopListening>, log: ReportingLogger): Promise<SocketClaim> {
  const publicPath = path.resolve(socketPath);
  // private name for the listening phase: short, so it fits wherever the public name fits
  const privatePath = path.join(path.dirname(publicPath), `.${process.pid.toString(36)}${(listenSeq++).toString(36)}`);
  checkPathLength(publicPath);
  checkPathLength(privatePath);
  await prepareSocketPath(publicPath);
  await clearPath(publicPath, log);
  await unlink(privatePath).catch(() => undefined); // left by a crash of an earlier process with our pid

  const stopListening = await listen(privatePath);
  let ino: number;
  let dev: number;
  try {
    await chmod(privatePath, 0o600);
    try {
      await link(privatePath, publicPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw alreadyRunning(publicPath, 'another daemon took the socket first:');
      throw new AppError('E_WRITE', `cannot create the socket ${publicPath}: ${sanitizeForMessage((error as Error).message)}`, { hint: 'check the socket directory', cause: error });
    }
    ({ ino, dev } = await lstat(publicPath));
  } catch (error) {
    await stopListening();
    throw error;
  } finally {
    await unlink(privatePath).catch(() => undefined);
  }
  return {
    socketPath: publicPath,
    release: async () => {
      const now = await lstat(publicPath).catch(() => null);
      if (now && now.ino === ino && now.dev === dev) await unlink(publicPath).catch(() => undefined);
    },
  };
}
