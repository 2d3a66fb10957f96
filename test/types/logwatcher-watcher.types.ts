// Type tests for LogWatcher (checked by `tsc --noEmit`, never run).
import { LogWatcher, type LogMatch, type LogWatcherOptions, type RotateEvent } from '../../src/index.js';

const watcher = new LogWatcher({ files: ['/var/log/auth.log'], startAt: 'beginning', journal: { matches: ['SYSLOG_IDENTIFIER=sshd'] } });

watcher.on('match', (m: LogMatch) => m.fields['host']);
watcher.on('rotate', (r: RotateEvent) => {
  const reason: 'rename' | 'recreate' | 'delete' | 'truncate' | 'create' = r.reason;
  // @ts-expect-error: not a rotation reason
  const wrong: 'moved' = r.reason;
  void reason;
  void wrong;
});
watcher.on('warning', (w) => w.code satisfies 'file-missing' | 'line-truncated' | 'rotated-lost' | 'state-discarded' | 'not-regular' | 'unreadable');
const followed: number = watcher.stats.filesFollowed;
void followed;

// @ts-expect-error: unknown event
watcher.on('line', () => {});
// @ts-expect-error: startAt is 'beginning' | 'end'
const bad: LogWatcherOptions = { files: 'x', startAt: 'middle' };
// @ts-expect-error: stats are read-only
watcher.stats.linesRead = 0;
// @ts-expect-error: 'alert' carries an Alert, not a string
watcher.on('alert', (a: string) => a);
void bad;
