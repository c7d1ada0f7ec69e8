/**
 * Watching a handful of files without watching the trees around them: a chokidar instance per
 * set of targets, rooted at directories that exist (or at the files themselves: the outputs, see
 * watcher.ts), whose `ignored` filter lets through only the targets and the directories leading
 * to them. A bundle whose directory vanishes (checkout of a
 * branch without it) and comes back is seen again because the root above it stays watched.
 *
 * Rules: fs events only (`usePolling: false`, no `awaitWriteFinish`, which polls); no `atomic`
 * (it delays unlinks by 100 ms, and the settle window already merges unlink+add).
 */
import { watch, type FSWatcher } from 'chokidar';
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';

/** The nearest directory at or above `dir` that exists (its canonical path). */
export function nearestExistingDir(dir: string): string {
  let current = path.resolve(dir);
  for (;;) {
    try {
      if (statSync(current).isDirectory()) return realpathSync(current);
    } catch {
      // keep climbing
    }
    const parent = path.dirname(current);
    if (parent === current) return current;
    current = parent;
  }
}

/**
 * The canonical form of a path whose tail may not exist yet: the real path of its nearest
 * existing ancestor, plus the rest. Chokidar then reports the same spelling we look up.
 */
export function canonicalPath(target: string): string {
  const absolute = path.resolve(target);
  const base = nearestExistingDir(path.dirname(absolute));
  let existing = path.dirname(absolute);
  // Walk up to the ancestor nearestExistingDir found (it may be a symlinked spelling of it).
  const rest: string[] = [path.basename(absolute)];
  while (safeRealpath(existing) !== base) {
    const parent = path.dirname(existing);
    if (parent === existing) break;
    rest.unshift(path.basename(existing));
    existing = parent;
  }
  return path.join(base, ...rest);
}

function safeRealpath(p: string): string | null {
  try {
    return realpathSync(p);
  } catch {
    return null;
  }
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Keeps only roots that are not inside another root (chokidar reaches those through the filter). */
export function outermostRoots(roots: readonly string[]): string[] {
  const unique = [...new Set(roots)];
  return unique.filter((root) => !unique.some((other) => other !== root && isInside(root, other)));
}

export interface TargetWatchOptions {
  /** Canonical absolute paths of the files to watch. */
  readonly targets: readonly string[];
  /** Directories (or target files) to start from, canonical and existing; each target must be inside one or be one. */
  readonly roots: readonly string[];
  onEvent(event: 'add' | 'change' | 'unlink', file: string): void;
  onError(error: unknown): void;
}

export interface TargetWatch {
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/** Starts a chokidar instance limited to `targets` (and the directories that lead to them). */
export function watchTargets(options: TargetWatchOptions): TargetWatch {
  const targets = new Set(options.targets);
  const ancestors = new Set<string>();
  for (const target of targets) {
    for (let dir = path.dirname(target); !ancestors.has(dir); dir = path.dirname(dir)) {
      ancestors.add(dir);
      if (path.dirname(dir) === dir) break;
    }
  }
  const wanted = (file: string) => targets.has(file) || ancestors.has(file);
  const watcher: FSWatcher = watch([...options.roots], {
    ignored: (file: string) => !wanted(path.resolve(file)),
    ignoreInitial: true,
    persistent: true,
    usePolling: false,
    atomic: false,
    followSymlinks: false,
    awaitWriteFinish: false,
  });
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  watcher.on('all', (event, file) => {
    if (event !== 'add' && event !== 'change' && event !== 'unlink') return;
    const absolute = path.resolve(file);
    if (targets.has(absolute)) options.onEvent(event, absolute);
  });
  // chokidar emits one 'change' per path in 50 ms and drops the rest, with no trailing event: the
  // second of two quick writes (a bundle written again at once, the last HEAD move of a burst of
  // checkouts) would wait for the daemon's 5 s integrity look. Its raw events are not throttled:
  // one on a target counts as a change too (the settle window merges the duplicates).
  watcher.on('raw', (_event, file, details) => {
    const watchedPath = (details as { watchedPath?: unknown } | undefined)?.watchedPath;
    if (typeof watchedPath !== 'string') return;
    const watched = path.resolve(watchedPath);
    const target = targets.has(watched) ? watched : typeof file === 'string' ? path.resolve(watched, file) : null;
    if (target !== null && targets.has(target)) options.onEvent('change', target);
  });
  watcher.on('error', (error) => options.onError(error));
  return { ready, close: () => watcher.close() };
}
