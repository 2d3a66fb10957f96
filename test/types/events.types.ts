// Type tests: checked by `tsc --noEmit` (npm test), never run. Each @ts-expect-error
// line must fail to compile, or tsc reports the directive as unused.
import { Component, createAlert, HostwardenEmitter, type Alert, type BaseEvents } from '../../src/index.js';

interface Events extends BaseEvents {
  /** An alert. */
  alert: [alert: Alert];
}

class Typed extends HostwardenEmitter<Events> {}
const typed = new Typed();
typed.on('alert', (alert) => alert.title.toUpperCase());
// @ts-expect-error: unknown event names are rejected
typed.on('alrt', () => {});
// @ts-expect-error: the payload is an Alert, not a string
typed.on('alert', (alert: string) => alert);
// @ts-expect-error: emitting the wrong payload is rejected
typed.emit('alert', 'not an alert');

// @ts-expect-error: severity must be one of the three
createAlert({ source: 'log', rule: 'r', severity: 'fatal', title: 't' });
// @ts-expect-error: title is required
createAlert({ source: 'log', rule: 'r', severity: 'info' });

async function iterate(): Promise<void> {
  for await (const alert of typed.events('alert')) {
    const title: string = alert.title;
    // @ts-expect-error: iterator payloads are typed
    const n: number = alert;
    void title;
    void n;
  }
}
void iterate;

// @ts-expect-error: onStart and onStop must be implemented
class Incomplete extends Component<BaseEvents> {}
void Incomplete;
