// The messages between the FileWatcher's event source and the worker thread that hosts
// `@parcel/watcher` (parcel-worker.ts). Paths travel as strings; event types as one
// letter each, in one string per batch, so a burst of events costs one message.

/** From the main thread. @internal */
export type HostRequest =
  { readonly op: 'subscribe'; readonly id: number; readonly dir: string; readonly ignore: readonly string[] } | { readonly op: 'unsubscribe'; readonly id: number };

/** From the worker. @internal */
export type HostReply =
  | { readonly op: 'subscribed'; readonly id: number }
  | { readonly op: 'refused'; readonly id: number; readonly message: string }
  | { readonly op: 'events'; readonly id: number; readonly paths: readonly string[]; readonly types: string }
  | { readonly op: 'error'; readonly id: number; readonly message: string }
  | { readonly op: 'unsubscribed'; readonly id: number };

/** Event type letters: c(reate), u(pdate), d(elete). @internal */
export const TYPE_LETTERS = { create: 'c', update: 'u', delete: 'd' } as const;
