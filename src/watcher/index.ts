export { FileWatcher, type FileWatcherEvents, type WatcherStatus } from './file-watcher.js';
export { DEFAULT_PRIORITY_PATHS, type FileWatcherOptions } from './options.js';
export type { ReconcileReason, ReconcileReport } from './reconciler.js';
