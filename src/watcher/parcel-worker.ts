// The worker thread that hosts @parcel/watcher for a FileWatcher. parcel delivers events
// through a N-API thread-safe function that holds the event loop of the thread it was made
// on, with no way to release it: on the main thread, a watcher that is not `persistent`
// would keep the process alive. Here it holds only this worker, and the main thread
// `unref()`s the worker. parcel still reads inotify on its own thread; this one only
// forwards each batch as one message.
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import type * as ParcelWatcher from '@parcel/watcher';
import { TYPE_LETTERS, type HostReply, type HostRequest } from './parcel-protocol.js';

const parcel = createRequire(import.meta.url)('@parcel/watcher') as typeof ParcelWatcher;
const port = parentPort;
if (port === null) throw new Error('parcel-worker.ts runs as a worker thread');
const subscriptions = new Map<number, Promise<ParcelWatcher.AsyncSubscription | undefined>>();
const reply = (message: HostReply): void => port.postMessage(message);
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

async function subscribe(id: number, dir: string, ignore: readonly string[]): Promise<ParcelWatcher.AsyncSubscription | undefined> {
  try {
    const subscription = await parcel.subscribe(
      dir,
      (error, events) => {
        if (error) return reply({ op: 'error', id, message: messageOf(error) });
        reply({ op: 'events', id, paths: events.map((e) => e.path), types: events.map((e) => TYPE_LETTERS[e.type]).join('') });
      },
      // Paths only: parcel's globs run as std::regex, which is not linear-time.
      { backend: process.platform === 'linux' ? 'inotify' : undefined, ignore: [...ignore] } as ParcelWatcher.Options,
    );
    reply({ op: 'subscribed', id });
    return subscription;
  } catch (error) {
    reply({ op: 'refused', id, message: messageOf(error) });
    return undefined;
  }
}

port.on('message', (request: HostRequest) => {
  if (request.op === 'subscribe') {
    subscriptions.set(request.id, subscribe(request.id, request.dir, request.ignore));
    return;
  }
  const pending = subscriptions.get(request.id);
  subscriptions.delete(request.id);
  void (async () => {
    await (await pending)?.unsubscribe().catch(() => {});
    reply({ op: 'unsubscribed', id: request.id });
  })();
});
