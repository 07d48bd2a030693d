import { receiverIndexKey } from '../receiver/receiver-index.ts';
import { isWebhookType, WEBHOOK_TYPES, webhookPath, type ReceiverSpec } from '../receiver/index.ts';
import { encode } from '../store/json-records.ts';
import { formatRef, type ObjectRef } from '../store/refs.ts';
import { isReady, Reason, withReady } from './conditions.ts';
import type { Outcome, ReconcileContext } from './context.ts';
import { parseInterval } from './duration.ts';
import { notRegistered, openSubject } from './subject.ts';

const CONTROLLER = 'receiver';

/**
 * Reconciles a Receiver as notification-controller does: reads the token from its secret, works
 * out the webhook path (`/hook/<sha256>`), and records it in `status.webhookPath` and in the index
 * (`receivers/<sha256>.json`) by which the receiver function finds the Receiver from a URL alone.
 */
export async function reconcileReceiver(ctx: ReconcileContext, ref: ObjectRef): Promise<Outcome> {
  const subject = await openSubject<ReceiverSpec & { interval?: string }>(ctx, ref, CONTROLLER);
  if (!subject) return notRegistered(ref);
  const { spec, generation, previous, log, now, fail } = subject;
  if (spec.suspend) return { ready: isReady(previous), message: 'suspended' };

  let interval: number;
  try {
    interval = parseInterval(spec.interval ?? '10m', 'spec.interval');
    if (!isWebhookType(spec.type)) throw new Error(`spec.type ${JSON.stringify(spec.type)} is not one of ${WEBHOOK_TYPES.join(', ')}`);
    if (!spec.secretRef?.name) throw new Error('spec.secretRef.name is missing: name the Secret whose `token` signs the webhooks');
    if (!spec.resources?.length) throw new Error('spec.resources is empty: name the sources a webhook should reconcile');
  } catch (err) {
    return fail(Reason.InvalidSpec, `${formatRef(ref)}: ${(err as Error).message}`, { stalled: true });
  }

  const secretRef = { cluster: ref.cluster, namespace: ref.namespace, kind: 'Secret', name: spec.secretRef.name };
  const data = await ctx.secrets.get(secretRef).catch((err: Error) => err);
  if (data instanceof Error || !data?.token) {
    const why = data instanceof Error ? `could not be read: ${data.message}` : !data ? 'not found' : 'has no `token` key';
    return fail(Reason.AuthenticationFailed, `${formatRef(ref)}: secret ${ref.namespace}/${spec.secretRef.name} ${why}: create it in Tide's secret store with a random token`, { retryMs: interval });
  }

  const path = webhookPath(ref.cluster, ref.namespace, ref.name, data.token);
  const old = typeof previous?.webhookPath === 'string' ? previous.webhookPath : undefined;
  await ctx.store.blobs.put(receiverIndexKey(path), encode({ cluster: ref.cluster, namespace: ref.namespace, name: ref.name }));
  // A rotated token moves the path: the old URL must stop working.
  if (old && old !== path) await ctx.store.blobs.delete(receiverIndexKey(old)).catch(() => undefined);
  const message = `Receiver initialized for path: ${path}`;
  if (!isReady(previous) || old !== path || previous?.observedGeneration !== generation) {
    await ctx.store.status.update(ref, (cur) => withReady(cur, 'True', Reason.ReconciliationSucceeded, message, now(), { generation, webhookPath: path }), { replaceCorrupt: true });
    log.info(message);
  }
  return { ready: true, message, requeueAfterMs: interval };
}
