/**
 * One writer per home: the daemon holds `<home>/.mcp-secrets.lock` for its whole life, whatever
 * socket it listens on, so a second daemon on the same home exits with E_ALREADY_RUNNING naming
 * the holder, and a one-shot `sync` or `purge` can find the daemon to ask instead of writing
 * beside it.
 *
 * The scheme (Node has no flock):
 * - the lock is a small JSON file `{pid, procStart, socket, startedAt}`, written whole to a temp
 *   file and hard-linked to its name: link() fails if the name exists, so two daemons starting at
 *   once cannot both take it, and a reader never sees half a lock;
 * - the holder is alive while its pid is alive AND, where the OS tells (Linux `/proc`), the
 *   process behind that pid started when the lock says: a SIGKILLed daemon leaves a stale lock
 *   that the next start takes over even when its pid has been reused meanwhile;
 * - a stale lock is removed only if it is still the file that was judged stale.
 * What remains: two daemons that both judge the same stale lock within the same few microseconds
 * (the same window the socket claim has); service managers start one.
 */
import { randomBytes } from 'node:crypto';
import { constants, readFileSync } from 'node:fs';
import { link, lstat, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { AppError, sanitizeForMessage } from '../errors.js';
import { processIsAlive, TEMP_PREFIX } from './publisher.js';
import { errnoOf } from '../fsx/errno.js';
import { readHandleUpTo } from '../fsx/read-bounded.js';

/** The lock's name in home (an `.mcp-secrets…` name: ensureHome counts it as ours). */
export const HOME_LOCK_NAME = '.mcp-secrets.lock';
const MAX_LOCK_BYTES = 4096;
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;

/** Who holds a home. */
export interface HomeLockHolder {
  pid: number;
  /** The process's start time as the OS counts it (Linux: /proc/<pid>/stat field 22), or null. */
  procStart: string | null;
  /** The holder's IPC socket: where `sync` and `purge` ask it. */
  socket: string;
  startedAt: string;
}

export interface HomeLock {
  readonly path: string;
  readonly holder: HomeLockHolder;
  /** Removes the lock if it is still ours. */
  release(): Promise<void>;
}

export interface HomeLockDeps {
  /** Whether a process with this pid exists (default `process.kill(pid, 0)`). */
  isAlive?: (pid: number) => boolean;
  /** The start time of a pid, or null when unknown (default: Linux /proc). */
  procStart?: (pid: number) => string | null;
  pid?: number;
  now?: () => Date;
}

/** Linux: field 22 of /proc/<pid>/stat (clock ticks since boot), which a reused pid does not share. */
export function linuxProcStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) is in parentheses and may hold spaces: count from the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** True when the process that wrote `holder` still runs. */
export function holderIsAlive(holder: HomeLockHolder, deps: HomeLockDeps = {}): boolean {
  const isAlive = deps.isAlive ?? processIsAlive;
  const procStart = deps.procStart ?? linuxProcStart;
  if (!isAlive(holder.pid)) return false;
  if (holder.procStart === null) return true; // the OS gave no start time: a live pid counts
  // a different start time (or none: it exited just now) means the pid now names another process
  return procStart(holder.pid) === holder.procStart;
}

function parseHolder(text: string): HomeLockHolder | null {
  try {
    const v = JSON.parse(text) as Partial<HomeLockHolder>;
    if (!Number.isInteger(v.pid) || (v.pid as number) <= 0 || typeof v.socket !== 'string' || typeof v.startedAt !== 'string') return null;
    if (v.procStart !== null && typeof v.procStart !== 'string') return null;
    return { pid: v.pid as number, procStart: v.procStart, socket: v.socket, startedAt: v.startedAt };
  } catch {
    return null;
  }
}

interface ReadLock {
  holder: HomeLockHolder | null;
  dev: number;
  ino: number;
}

/** Reads the lock without following a link or blocking on a FIFO; null when there is none. */
async function readLock(file: string): Promise<ReadLock | null> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return null;
    throw new AppError('E_INSECURE_PATH', `the home lock is not a regular file: ${file}${errnoOf(error) ? ` (${errnoOf(error)})` : ''}`, {
      hint: `remove it (mcp-secrets owns ${file}) once no mcp-secrets daemon runs`,
      details: { path: file },
    });
  }
  try {
    const info = await handle.stat();
    const uid = process.getuid?.();
    if (!info.isFile() || (uid !== undefined && info.uid !== uid)) {
      throw new AppError('E_INSECURE_PATH', `the home lock is not a regular file of yours: ${file}`, {
        hint: `remove it (mcp-secrets owns ${file}) once no mcp-secrets daemon runs`,
        details: { path: file },
      });
    }
    // a lock longer than any we write is not ours to trust: parse what fits (parseHolder refuses it)
    const bytes = (await readHandleUpTo(handle, info.size, MAX_LOCK_BYTES)) ?? Buffer.alloc(0);
    return { holder: parseHolder(bytes.toString('utf8')), dev: info.dev, ino: info.ino };
  } finally {
    await handle.close();
  }
}

/**
 * The daemon that holds `home`, when one is alive; null when none does (no lock, or a stale one).
 * Reads only: changes nothing.
 */
export async function liveHomeLockHolder(home: string, deps: HomeLockDeps = {}): Promise<HomeLockHolder | null> {
  const lock = await readLock(path.join(home, HOME_LOCK_NAME));
  if (lock?.holder == null) return null;
  return holderIsAlive(lock.holder, deps) ? lock.holder : null;
}

/** The E_ALREADY_RUNNING a second writer gets, naming the holder. */
export function homeHeldError(home: string, holder: HomeLockHolder): AppError {
  return new AppError('E_ALREADY_RUNNING', `a daemon (pid ${holder.pid}, socket ${sanitizeForMessage(holder.socket)}) already serves ${home}`, {
    hint: `use \`mcp-secrets status --socket ${sanitizeForMessage(holder.socket)}\`, or stop that daemon first; one daemon serves a home`,
    details: { home, pid: holder.pid, socket: holder.socket },
  });
}

/**
 * Takes the home lock for this process (home must already be checked by ensureHome). A stale lock
 * (dead holder, reused pid, unreadable content) is replaced.
 *
 * @throws AppError `E_ALREADY_RUNNING` (a live daemon holds it), `E_INSECURE_PATH` (the lock is a
 *   link or not ours), `E_WRITE`.
 */
export async function acquireHomeLock(home: string, socket: string, deps: HomeLockDeps = {}): Promise<HomeLock> {
  const pid = deps.pid ?? process.pid;
  const procStart = deps.procStart ?? linuxProcStart;
  const holder: HomeLockHolder = { pid, procStart: procStart(pid), socket, startedAt: (deps.now?.() ?? new Date()).toISOString() };
  const file = path.join(home, HOME_LOCK_NAME);
  // a live holder is refused before anything is written in home
  const held = await readLock(file);
  if (held?.holder != null && holderIsAlive(held.holder, deps)) throw homeHeldError(home, held.holder);
  // a temp name the publisher's sweep removes if we die right here
  const temp = path.join(home, `${TEMP_PREFIX}${pid}-${randomBytes(6).toString('hex')}-lock`);
  const handle = await open(temp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | O_NOFOLLOW, 0o600).catch((error: unknown) => {
    throw writeError(temp, error);
  });
  try {
    await handle.chmod(0o600);
    await handle.writeFile(JSON.stringify(holder) + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await link(temp, file);
        return { path: file, holder, release: () => releaseIfOurs(file, holder) };
      } catch (error) {
        if (errnoOf(error) !== 'EEXIST') throw writeError(file, error);
      }
      const current = await readLock(file);
      if (current === null) continue; // released meanwhile: try again
      if (current.holder !== null && holderIsAlive(current.holder, deps)) throw homeHeldError(home, current.holder);
      // stale: remove it only if it is still the file judged stale, not a lock just taken by another daemon
      const again = await lstat(file).catch(() => null);
      if (again && again.dev === current.dev && again.ino === current.ino) {
        await unlink(file).catch((error: unknown) => {
          if (errnoOf(error) !== 'ENOENT') throw writeError(file, error);
        });
      }
    }
    throw new AppError('E_ALREADY_RUNNING', `could not take the home lock ${file}: other daemons keep taking it`, { hint: 'stop the other mcp-secrets daemons on this home' });
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function releaseIfOurs(file: string, holder: HomeLockHolder): Promise<void> {
  try {
    const current = await readLock(file);
    if (current?.holder?.pid === holder.pid && current.holder.startedAt === holder.startedAt) await unlink(file);
  } catch {
    // Best effort: a lock left behind is judged stale by the next start (its pid is gone).
  }
}

function writeError(file: string, cause: unknown): AppError {
  const code = errnoOf(cause);
  return new AppError('E_WRITE', `could not write the home lock: ${file}${code ? ` (${code})` : ''}`, {
    hint: `check that ${path.dirname(file)} is yours and writable`,
    cause,
    details: { path: file, errno: code ?? null },
  });
}
