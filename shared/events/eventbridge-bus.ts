import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { EventPublishError, type EventBus, type FailedEvent, type PublishResult } from './bus.ts';
import { EVENT_SOURCE, type TideEvent } from './event.ts';
import { MAX_ENTRIES_PER_CALL, MAX_ENTRY_BYTES, prepareEvent, type PreparedEvent } from './prepare.ts';

export interface EventBridgeBusOptions {
  readonly client: EventBridgeClient;
  /** The bus name or ARN; default `tide`. */
  readonly busName?: string;
  /** How many times entries the response marks failed are re-sent; default 4. */
  readonly retries?: number;
  /** First back-off before a re-send, doubled each time; default 100 ms. */
  readonly backoffMs?: number;
}

/**
 * Tide's events on Amazon EventBridge. PutEvents is called with at most 10 entries and 256 KB a
 * call; entries the response marks failed (throttling, internal errors) are re-sent with back-off;
 * whatever still fails is thrown as EventPublishError, listing each event.
 */
export class EventBridgeBus implements EventBus {
  private readonly client: EventBridgeClient;
  private readonly busName: string;
  private readonly retries: number;
  private readonly backoffMs: number;

  constructor(options: EventBridgeBusOptions) {
    this.client = options.client;
    this.busName = options.busName ?? 'tide';
    this.retries = options.retries ?? 4;
    this.backoffMs = options.backoffMs ?? 100;
  }

  async publish(events: readonly TideEvent[]): Promise<PublishResult> {
    const prepared = events.map(prepareEvent);
    let sent = 0;
    const failed: FailedEvent[] = [];
    for (const batch of batches(prepared)) {
      const out = await this.sendWithRetries(batch);
      sent += out.sent;
      failed.push(...out.failed);
    }
    if (failed.length > 0) throw new EventPublishError(sent, failed);
    return { sent };
  }

  private async sendWithRetries(batch: PreparedEvent[]): Promise<{ sent: number; failed: FailedEvent[] }> {
    let todo = batch;
    let sent = 0;
    let lastErrors: FailedEvent[] = [];
    for (let attempt = 0; attempt <= this.retries && todo.length > 0; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, this.backoffMs * 2 ** (attempt - 1)));
      let entries;
      try {
        // The SDK already retries throttled and failed calls as a whole; this handles what remains.
        const out = await this.client.send(new PutEventsCommand({ Entries: todo.map((p) => this.entry(p)) }));
        entries = out.Entries ?? [];
      } catch (err) {
        const e = err as Error;
        return { sent, failed: todo.map((p) => ({ event: p.event, code: e.name || 'PutEventsFailed', message: e.message })) };
      }
      const retry: PreparedEvent[] = [];
      lastErrors = [];
      todo.forEach((p, i) => {
        const result = entries[i];
        if (result?.EventId && !result.ErrorCode) {
          sent++;
          return;
        }
        retry.push(p);
        lastErrors.push({
          event: p.event,
          code: result?.ErrorCode ?? 'MissingResult',
          message: result?.ErrorMessage ?? 'PutEvents returned no result for this entry',
        });
      });
      todo = retry;
    }
    return { sent, failed: todo.length > 0 ? lastErrors : [] };
  }

  private entry(p: PreparedEvent): PutEventsRequestEntry {
    return {
      Source: EVENT_SOURCE,
      DetailType: p.event.detailType,
      Detail: p.detailJson,
      EventBusName: this.busName,
      Time: new Date(p.event.detail.timestamp),
    };
  }
}

/** Groups entries so that no call has more than 10 entries or 256 KB in all. */
export function batches(prepared: readonly PreparedEvent[]): PreparedEvent[][] {
  const out: PreparedEvent[][] = [];
  let current: PreparedEvent[] = [];
  let bytes = 0;
  for (const p of prepared) {
    if (current.length === MAX_ENTRIES_PER_CALL || (current.length > 0 && bytes + p.size > MAX_ENTRY_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(p);
    bytes += p.size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
