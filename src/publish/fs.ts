/**
 * The small file-system seam the publisher writes through: the real one over node:fs/promises,
 * and a wrapper that fails (or pauses) at a chosen step so tests can prove what a failure leaves.
 *
 * Every call here is about one path in home; nothing follows a symbolic link at the final
 * component (`lstat`, `O_NOFOLLOW`, `rename` and `unlink` act on the link itself).
 */

import { constants, type Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { READ_LIMITS, readBounded } from '../fsx/read-bounded.js';
import { isErrno } from '../fsx/errno.js';

/** The steps a failure can be injected at. `write` and `fsync` act on an open temp file. */
export type FsStep = 'open' | 'write' | 'fsync' | 'rename' | 'dirFsync';

/** What the publisher needs from `lstat`. */
export type FileStat = Pick<Stats, 'mode' | 'uid' | 'nlink' | 'size' | 'isFile' | 'isDirectory' | 'isSymbolicLink'>;

/** An open, exclusively created temp file. */
export interface WriteHandle {
  chmod(mode: number): Promise<void>;
  /** Writes all of `data` (step `write`). */
  write(data: Uint8Array): Promise<void>;
  /** fsync (step `fsync`). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface PublishFs {
  /** Creates `path` with O_CREAT|O_EXCL|O_WRONLY|O_NOFOLLOW and `mode` (step `open`). */
  createExclusive(path: string, mode: number): Promise<WriteHandle>;
  /** Step `rename`. Replaces a symlink at `to` itself, never its target. */
  rename(from: string, to: string): Promise<void>;
  /** fsync of a directory, so renames in it survive a crash (step `dirFsync`). */
  syncDir(path: string): Promise<void>;
  link(existing: string, newPath: string): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  readlink(path: string): Promise<string>;
  unlink(path: string): Promise<void>;
  /** `lstat`, or null when nothing is there. */
  lstat(path: string): Promise<FileStat | null>;
  /** Reads a regular file without following a symlink or blocking on a FIFO; throws otherwise. */
  readNoFollow(path: string): Promise<Uint8Array>;
  readdir(path: string): Promise<string[]>;
  /** `mkdir -p` with `mode` for what it creates. */
  mkdir(path: string, mode: number): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
}

// O_NOFOLLOW does not exist on Windows; there the flag falls back to a plain open.
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/** The real file system. */
export const realFs: PublishFs = {
  async createExclusive(path, mode) {
    const handle = await fsp.open(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | O_NOFOLLOW, mode);
    return {
      chmod: (m) => handle.chmod(m),
      write: async (data) => {
        await handle.writeFile(data);
      },
      sync: () => handle.sync(),
      close: () => handle.close(),
    };
  },
  rename: (from, to) => fsp.rename(from, to),
  async syncDir(path) {
    // Windows cannot open a directory for fsync; its renames are not made durable this way.
    if (process.platform === 'win32') return;
    const handle = await fsp.open(path, constants.O_RDONLY | (constants.O_DIRECTORY ?? 0));
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  link: (existing, newPath) => fsp.link(existing, newPath),
  symlink: (target, path) => fsp.symlink(target, path),
  readlink: (path) => fsp.readlink(path),
  unlink: (path) => fsp.unlink(path),
  async lstat(path) {
    try {
      return await fsp.lstat(path);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return null;
      throw error;
    }
  },
  // bounded as well: whatever was swapped in at an output must not fill memory either
  readNoFollow: (path) => readBounded(path, { limit: READ_LIMITS.output, what: 'the output' }),
  readdir: (path) => fsp.readdir(path),
  async mkdir(path, mode) {
    await fsp.mkdir(path, { recursive: true, mode });
  },
  chmod: (path, mode) => fsp.chmod(path, mode),
};

/** Where and how {@link withFaults} interferes. */
export interface FaultPlan {
  /** The step whose call fails. */
  failAt?: FsStep;
  /** Which call of that step fails, counting from 1 (default 1). */
  nth?: number;
  /** The error thrown (default: an `EIO` errno error naming the step). */
  error?: () => Error;
  /** Runs before every call of every step; may wait (a test pauses a publish here, then kills it). */
  before?: (step: FsStep, path: string) => void | Promise<void>;
}

/**
 * Wraps a {@link PublishFs} so the `nth` call of `failAt` throws, after the optional `before`
 * hook. Other calls go through unchanged.
 */
export function withFaults(inner: PublishFs, plan: FaultPlan): PublishFs {
  const counts = new Map<FsStep, number>();
  const nth = plan.nth ?? 1;
  async function gate(step: FsStep, path: string): Promise<void> {
    await plan.before?.(step, path);
    const count = (counts.get(step) ?? 0) + 1;
    counts.set(step, count);
    if (plan.failAt === step && count === nth) {
      throw plan.error?.() ?? Object.assign(new Error(`injected failure at ${step} (${count})`), { code: 'EIO', errno: -5, syscall: step });
    }
  }
  return {
    ...inner,
    async createExclusive(path, mode) {
      await gate('open', path);
      const handle = await inner.createExclusive(path, mode);
      return {
        chmod: (m) => handle.chmod(m),
        write: async (data) => {
          await gate('write', path);
          await handle.write(data);
        },
        sync: async () => {
          await gate('fsync', path);
          await handle.sync();
        },
        close: () => handle.close(),
      };
    },
    async rename(from, to) {
      await gate('rename', to);
      await inner.rename(from, to);
    },
    async syncDir(path) {
      await gate('dirFsync', path);
      await inner.syncDir(path);
    },
  };
}
