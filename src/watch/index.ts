/** The change watcher: chokidar + git awareness → settled "the source may have changed" events. */
export { watchSource, resolveWatchOptions } from './watcher.js';
export type { ChangeReason, WatchEvent, SourceWatcher, WatchLogger, WatchSourceOptions } from './watcher.js';
export { createSettler, systemClock } from './settle.js';
export type { Clock, Settler, SettleOptions, SettledBatch } from './settle.js';
