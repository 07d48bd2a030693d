import { reconcileRequest } from '../events/requests.ts';
import type { ReconcileContext } from '../reconcile/context.ts';
import { consumersOf } from '../reconcile/consumers.ts';
import { reconcilerIn, type ReconcilerTable } from '../reconcile/reconcilers.ts';
import { reconcileUnderLease } from '../reconcile/under-lease.ts';
import { POINTER_SUFFIX } from '../store/artifacts.ts';
import { formatRef, refFromKey, type ObjectRef } from '../store/refs.ts';
import { parseQueueMessage } from './envelope.ts';
import type { Requeue } from './requeue.ts';

export interface QueueRecord {
  readonly messageId: string;
  readonly body: string;
}

export interface QueueWork {
  readonly ctx: ReconcileContext;
  /** Lease holder: the invocation's request id. */
  readonly holder: string;
  /** When this invocation must have finished (ms since the epoch), less a margin. */
  readonly deadline: number;
  readonly requeue: Requeue;
  /** The state bucket's name: its artifact pointers are told apart from users' buckets. */
  readonly stateBucket: string;
  /** Which function reports: `source` or `reconcile`. */
  readonly controller: string;
  /** The kinds this function reconciles. */
  readonly reconcilers: ReconcilerTable;
  /** Sources a write to a user's bucket concerns (the source function's Bucket sources); none elsewhere. */
  readonly bucketWatchers?: (bucket: string) => Promise<ObjectRef[]>;
}

/** SQS partial batch response: the messages to deliver again. */
export interface BatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>;
}

/**
 * The work of the source and reconcile functions, one queue message at a time:
 * - "Reconcile Requested": the object is reconciled under its lease (a request while another
 *   invocation holds it is coalesced into that one's next run); a health wait cut short by the
 *   budget, or a request left over at the deadline, is re-requested with a delay;
 * - an artifact pointer written to the state bucket: every consumer of that source is requested;
 * - an object written to a user's bucket: every Bucket source watching it is requested.
 * A message whose work throws is reported for redelivery (and reaches the dead-letter queue after
 * its retries); a failed reconcile is not a failed message: it is in the object's status.
 */
export async function processQueue(records: readonly QueueRecord[], work: QueueWork): Promise<BatchResponse> {
  const failures: BatchResponse['batchItemFailures'] = [];
  for (const record of records) {
    try {
      await processMessage(record, work);
    } catch (err) {
      work.ctx.log.error(`message ${record.messageId} failed: ${(err as Error).message}`, { messageId: record.messageId });
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
}

async function processMessage(record: QueueRecord, work: QueueWork): Promise<void> {
  const { ctx } = work;
  const message = parseQueueMessage(record.body);
  if (message.type === 'ignored') {
    ctx.log.info(`message ${record.messageId} ignored: ${message.why}`);
    return;
  }
  if (message.type === 'object-changed') {
    const { targets, reason, why } = await objectChangedTargets(work, message.bucket, message.key);
    if (targets.length) await ctx.bus.publish(targets.map((t) => reconcileRequest(t, reason, why, work.controller)));
    ctx.log.info(`s3://${message.bucket}/${message.key}: requested ${targets.length}`, { requested: targets.map(formatRef) });
    return;
  }
  const ref = message.ref;
  const log = ctx.log.child({ cluster: ref.cluster, namespace: ref.namespace, kind: ref.kind, name: ref.name });
  const result = await reconcileUnderLease({ ...ctx, deadline: work.deadline }, ref, reconcilerIn(work.reconcilers, ref.kind), { holder: work.holder, deadline: work.deadline });
  if (!result.ran) {
    log.info(`coalesced: ${result.holder} is reconciling it and runs once more for this request`, { reason: message.reason });
    return;
  }
  const { outcome } = result;
  log.info(`${outcome.ready ? 'ready' : 'not ready'}: ${outcome.message.split('\n')[0]}`, { revision: outcome.revision, runs: result.runs, reason: message.reason });
  if (outcome.resume) {
    await work.requeue(ref, outcome.requeueAfterMs ?? 5_000, 'HealthCheckContinues', `health checks of ${outcome.revision ?? 'the revision'} go on`);
  } else if (result.pendingRequest) {
    await work.requeue(ref, 0, 'Requested', 'requested while the last invocation ran out of time');
  }
}

async function objectChangedTargets(work: QueueWork, bucket: string, key: string): Promise<{ targets: ObjectRef[]; reason: string; why: string }> {
  if (bucket === work.stateBucket) {
    const source = key.endsWith(POINTER_SUFFIX) ? refFromKey(key, POINTER_SUFFIX) : undefined;
    if (!source || key.split('/')[2] !== 'artifacts') return { targets: [], reason: '', why: '' };
    return { targets: await consumersOf(work.ctx.store, source), reason: 'SourceUpdated', why: `new artifact of ${formatRef(source)}` };
  }
  return { targets: (await work.bucketWatchers?.(bucket)) ?? [], reason: 'BucketChanged', why: `s3://${bucket}/${key} changed` };
}
