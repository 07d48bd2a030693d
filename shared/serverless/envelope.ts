import { DetailType, EVENT_SOURCE, type EventDetail } from '../events/event.ts';
import { reconcileRequest } from '../events/requests.ts';
import { validateRef, type ObjectRef } from '../store/refs.ts';

/** An EventBridge event as a rule's SQS target delivers it: the message body. */
export interface EventEnvelope {
  version?: string;
  id?: string;
  'detail-type': string;
  source: string;
  account?: string;
  time?: string;
  region?: string;
  resources?: string[];
  detail: unknown;
}

/** What one queue message asks for. */
export type QueueMessage =
  | { readonly type: 'request'; readonly ref: ObjectRef; readonly reason: string }
  | { readonly type: 'object-changed'; readonly bucket: string; readonly key: string }
  | { readonly type: 'ignored'; readonly why: string };

/**
 * Reads a queue message: a Tide "Reconcile Requested" (from the bus, or re-sent by a function to
 * its own queue), or an S3 "Object Created"/"Object Deleted" from S3's EventBridge notifications.
 * Anything else is ignored with the reason, never guessed at; a malformed body is an error naming
 * what is wrong (the message then goes to the dead-letter queue after its retries).
 */
export function parseQueueMessage(body: string): QueueMessage {
  let e: EventEnvelope;
  try {
    e = JSON.parse(body) as EventEnvelope;
  } catch {
    throw new Error(`queue message is not JSON (${body.length} bytes)`);
  }
  if (e?.source === EVENT_SOURCE && e['detail-type'] === DetailType.ReconcileRequested) {
    const d = e.detail as Partial<EventDetail> | undefined;
    const o = d?.involvedObject;
    if (!o || typeof d?.cluster !== 'string') throw new Error('Reconcile Requested without detail.cluster and detail.involvedObject');
    const ref = validateRef({ cluster: d.cluster, namespace: o.namespace ?? '', kind: o.kind, name: o.name });
    return { type: 'request', ref, reason: d.reason ?? 'Requested' };
  }
  if (e?.source === 'aws.s3' && (e['detail-type'] === 'Object Created' || e['detail-type'] === 'Object Deleted')) {
    const d = e.detail as { bucket?: { name?: string }; object?: { key?: string } } | undefined;
    if (!d?.bucket?.name || typeof d.object?.key !== 'string') throw new Error(`S3 ${e['detail-type']} event without detail.bucket.name and detail.object.key`);
    return { type: 'object-changed', bucket: d.bucket.name, key: d.object.key };
  }
  return { type: 'ignored', why: `${e?.source ?? '?'} ${e?.['detail-type'] ?? '?'} is not for this queue` };
}

/** The envelope of a "Reconcile Requested" a function sends to its own queue (a delayed re-request). */
export function requestEnvelope(ref: ObjectRef, reason: string, message: string, controller: string): EventEnvelope {
  const event = reconcileRequest(ref, reason, message, controller);
  return { version: '0', 'detail-type': event.detailType, source: EVENT_SOURCE, time: event.detail.timestamp, resources: [], detail: event.detail };
}
