import { eventSubject, type TideEvent } from './event.ts';

/** One event that could not be delivered, with the bus's own error code. */
export interface FailedEvent {
  readonly event: TideEvent;
  readonly code: string;
  readonly message: string;
}

/**
 * Publishing never drops an event in silence: when any event is still undelivered after the
 * retries, publish() throws this, listing each one (kind/namespace/name, code) and how many were sent.
 */
export class EventPublishError extends Error {
  override readonly name = 'EventPublishError';
  constructor(readonly sent: number, readonly failed: readonly FailedEvent[]) {
    super(
      `events: ${failed.length} of ${sent + failed.length} event(s) not published: ` +
        failed
          .slice(0, 5)
          .map((f) => `${f.event.detailType} for ${eventSubject(f.event)} (${f.code}: ${f.message})`)
          .join('; ') +
        (failed.length > 5 ? `; and ${failed.length - 5} more` : ''),
    );
  }
}

export interface PublishResult {
  /** How many events the bus accepted. */
  readonly sent: number;
}

/** Where every event goes: EventBridge on AWS, an in-process bus in `tide local`. */
export interface EventBus {
  /** Redacts, checks and sends. Throws InvalidEventError before sending anything, or EventPublishError after. */
  publish(events: readonly TideEvent[]): Promise<PublishResult>;
}
