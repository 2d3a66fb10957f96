export { LogWatcher, type LogWatcherEvents, type LogWatcherStats } from './watcher.js';
export type { LogWatcherOptions } from './options.js';
export type { JournalOptions } from './journal.js';
export type { LogWatcherWarning, RotateEvent, RotateReason } from './tailer.js';
