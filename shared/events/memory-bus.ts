import type { EventBus, PublishResult } from './bus.ts';
import { EVENT_SOURCE, type TideEvent } from './event.ts';
import { prepareEvent } from './prepare.ts';

/** What a subscriber matches, like an EventBridge rule's pattern on detail-type. */
export interface EventFilter {
  detailType?: readonly string[];
}

/** What a subscriber receives: the event as EventBridge would deliver its detail. */
export interface DeliveredEvent extends TideEvent {
  readonly source: string;
  readonly id: number;
}

export type EventHandler = (event: DeliveredEvent) => void | Promise<void>;

/**
 * The in-process bus of `tide local`. Events are redacted, checked and size-limited exactly as on
 * EventBridge, then handed to each matching subscriber asynchronously (never inside publish()).
 * A subscriber's failure does not fail the publisher, as on EventBridge; it goes to `onError`.
 */
export class MemoryEventBus implements EventBus {
  private readonly subscribers = new Set<{ filter: EventFilter; handler: EventHandler }>();
  private readonly pending = new Set<Promise<void>>();
  private nextId = 1;

  constructor(private readonly onError: (err: unknown, event: DeliveredEvent) => void = () => undefined) {}

  subscribe(filter: EventFilter, handler: EventHandler): () => void {
    const sub = { filter, handler };
    this.subscribers.add(sub);
    return () => this.subscribers.delete(sub);
  }

  async publish(events: readonly TideEvent[]): Promise<PublishResult> {
    const prepared = events.map(prepareEvent); // all checked before any is delivered
    for (const p of prepared) {
      const delivered: DeliveredEvent = { ...structuredClone(p.event), source: EVENT_SOURCE, id: this.nextId++ };
      for (const sub of this.subscribers) {
        if (sub.filter.detailType && !sub.filter.detailType.includes(delivered.detailType)) continue;
        const run = new Promise<void>((resolve) => setImmediate(resolve))
          .then(() => sub.handler(structuredClone(delivered)))
          .catch((err) => this.onError(err, delivered))
          .finally(() => this.pending.delete(run));
        this.pending.add(run);
      }
    }
    return { sent: prepared.length };
  }

  /** Resolves once every delivery, including those its handlers publish in turn, has finished. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
