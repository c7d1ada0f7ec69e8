/**
 * Removing outputs (an output dropped from the repo config, `purge`): the file is overwritten with
 * zeros, fsynced and unlinked, so on most filesystems its plaintext blocks go with it. Never
 * through a symbolic link (the link itself is unlinked) and only regular files are overwritten.
 */
import { constants } from 'node:fs';
import { lstat, open, unlink } from 'node:fs/promises';
import path from 'node:path';

/** Overwrites then unlinks `file`; false when there was nothing there. */
export async function wipeFile(file: string): Promise<boolean> {
  let info;
  try {
    info = await lstat(file);
  } catch {
    return false;
  }
  if (info.isFile() && info.size > 0) {
    const handle = await open(file, constants.O_RDWR | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => null);
    if (handle !== null) {
      try {
        const now = await handle.stat();
        if (now.isFile() && now.ino === info.ino) {
          await handle.write(Buffer.alloc(now.size), 0, now.size, 0);
          await handle.sync();
        }
      } finally {
        await handle.close();
      }
    }
  }
  await unlink(file);
  return true;
}

/** Wipes each named output in home; returns the paths removed. */
export async function removeOutputs(home: string, names: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const name of names) {
    const file = path.join(home, name);
    if (await wipeFile(file)) removed.push(file);
  }
  return removed;
}
