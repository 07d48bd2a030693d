import { redact } from '../redact.ts';
import { EVENT_SOURCE, eventSubject, type TideEvent } from './event.ts';

/** EventBridge's limit on one entry, and on all entries of one PutEvents call. */
export const MAX_ENTRY_BYTES = 256 * 1024;
export const MAX_ENTRIES_PER_CALL = 10;

/** An event ready to send: redacted, checked, serialized and sized as EventBridge counts. */
export interface PreparedEvent {
  readonly event: TideEvent;
  readonly detailJson: string;
  readonly size: number;
}

/** An event that cannot be sent as it is: the message says which and why. */
export class InvalidEventError extends Error {
  override readonly name = 'InvalidEventError';
}

const SEVERITIES = new Set(['info', 'error']);
const TRUNCATED = ' … [truncated: the event exceeded 256 KB]';

/**
 * Redacts, validates and sizes an event. A message too long for one entry is cut to fit (the
 * metadata says so); what still does not fit is an InvalidEventError naming the object.
 */
export function prepareEvent(input: TideEvent): PreparedEvent {
  const problem = validate(input);
  if (problem) throw new InvalidEventError(`event ${JSON.stringify(input.detailType)} for ${eventSubject(input)}: ${problem}`);
  const event = redact(input);
  let detailJson = JSON.stringify(event.detail);
  let size = entrySize(event.detailType, detailJson);
  if (size > MAX_ENTRY_BYTES) {
    const over = size - MAX_ENTRY_BYTES;
    const msg = Buffer.from(event.detail.message, 'utf8');
    // JSON escaping can make the serialized message longer than its bytes; cut with some margin.
    const keep = msg.length - over - TRUNCATED.length * 2 - 1024;
    if (keep > 0) {
      event.detail.message = msg.subarray(0, keep).toString('utf8').replace(/\uFFFD+$/, '') + TRUNCATED;
      event.detail.metadata = { ...event.detail.metadata, truncated: 'true' };
      detailJson = JSON.stringify(event.detail);
      size = entrySize(event.detailType, detailJson);
    }
    if (size > MAX_ENTRY_BYTES) {
      throw new InvalidEventError(
        `event ${JSON.stringify(event.detailType)} for ${eventSubject(event)} is ${size} bytes without its message; ` +
          `EventBridge takes at most ${MAX_ENTRY_BYTES}: carry less metadata`,
      );
    }
  }
  return { event, detailJson, size };
}

/** An entry's size as EventBridge counts it: Time (14) + Source + DetailType + Detail, in UTF-8 bytes. */
export function entrySize(detailType: string, detailJson: string): number {
  return 14 + Buffer.byteLength(EVENT_SOURCE) + Buffer.byteLength(detailType) + Buffer.byteLength(detailJson);
}

function validate(e: TideEvent): string | undefined {
  if (!e || typeof e.detailType !== 'string' || e.detailType === '') return 'detailType is missing';
  const d = e.detail;
  if (!d || typeof d !== 'object') return 'detail is missing';
  const o = d.involvedObject;
  if (!o || !o.kind || !o.name || typeof o.namespace !== 'string') {
    return 'detail.involvedObject needs kind, namespace ("" for cluster-scoped) and name';
  }
  if (!d.cluster) return 'detail.cluster is missing';
  if (!SEVERITIES.has(d.severity)) return `detail.severity is ${JSON.stringify(d.severity)}, use "info" or "error"`;
  if (!d.reason) return 'detail.reason is missing';
  if (typeof d.message !== 'string') return 'detail.message is missing';
  if (!d.timestamp || Number.isNaN(Date.parse(d.timestamp))) return 'detail.timestamp is not an RFC 3339 time';
  if (!d.reportingController) return 'detail.reportingController is missing';
  if (d.metadata && Object.values(d.metadata).some((v) => typeof v !== 'string')) return 'detail.metadata values must be strings';
  return undefined;
}
