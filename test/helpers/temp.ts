/**
 * The tests' one temp dir helper: each test makes its own private dir (mkdtemp: 0700, a fresh
 * name) and it is removed at teardown, so no test touches a dir it did not make.
 */
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Anything with ava's `t.teardown` (a test, a hook, or a fixture that forwards it). */
export interface Teardown {
  teardown(fn: () => Promise<void> | void): void;
}

/**
 * A new private dir under the system temp dir, its real path (macOS `/var` → `/private/var`),
 * removed with everything in it when `t` tears down. Teardowns run last-registered first, so
 * a watcher or daemon started on the dir afterwards is stopped before the dir goes.
 */
export async function tempDir(t: Teardown, prefix = 'mcps-'): Promise<string> {
  const dir = await realpath(await mkdtemp(path.join(os.tmpdir(), prefix)));
  t.teardown(() => rm(dir, { recursive: true, force: true, maxRetries: 3 }));
  return dir;
}
