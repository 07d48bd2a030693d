import { reconcileRequest } from '../events/requests.ts';
import type { ReconcileContext } from '../reconcile/context.ts';
import { formatRef, type ObjectRef } from '../store/refs.ts';
import { receiverIndexKey, type ReceiverIndexEntry } from './receiver-index.ts';
import { webhookTargets } from './targets.ts';
import { verifyWebhook, type ReceiverSpec, type WebhookRequest } from './verify.ts';

export interface WebhookResponse {
  readonly status: number;
  readonly body: string;
  /** The objects a "Reconcile Requested" was sent for. */
  readonly requested: ObjectRef[];
}

const DEFAULT_MAX_BYTES = 4 << 20;

/**
 * One webhook, as the receiver function gets it: find the Receiver by its path, check the
 * signature or token before anything else is read from the body, then send one "Reconcile
 * Requested" for each object the push is for. A bad request starts nothing and says why in the
 * response (never echoing the secret); the log line names the Receiver.
 */
export async function receiveWebhook(ctx: ReconcileContext, path: string, req: WebhookRequest, options: { maxBodyBytes?: number } = {}): Promise<WebhookResponse> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BYTES;
  const reply = (status: number, body: string, requested: ObjectRef[] = []): WebhookResponse => ({ status, body, requested });
  if (req.body.length > maxBodyBytes) return reply(413, `body of ${req.body.length} bytes is over the limit of ${maxBodyBytes}`);
  let key: string;
  try {
    key = receiverIndexKey(path);
  } catch {
    return reply(404, 'no receiver at this path');
  }
  const blob = await ctx.store.blobs.get(key);
  if (!blob) return reply(404, 'no receiver at this path');
  const entry = JSON.parse(new TextDecoder().decode(blob.body)) as ReceiverIndexEntry;
  const ref: ObjectRef = { cluster: entry.cluster, namespace: entry.namespace, kind: 'Receiver', name: entry.name };
  const log = ctx.log.child({ cluster: ref.cluster, namespace: ref.namespace, kind: ref.kind, name: ref.name });
  const [obj, status] = await Promise.all([ctx.store.objects.get(ref), ctx.store.status.get(ref).catch(() => undefined)]);
  // The index outlives a Receiver removed from Git, or one whose token was rotated: the path must match its current one.
  if (!obj || status?.value.webhookPath !== path) return reply(404, 'no receiver at this path');
  const spec = (obj.value.spec ?? {}) as ReceiverSpec;

  const secret = spec.secretRef?.name ? await ctx.secrets.get({ cluster: ref.cluster, namespace: ref.namespace, kind: 'Secret', name: spec.secretRef.name }).catch(() => undefined) : undefined;
  const verdict = verifyWebhook(spec, secret?.token ?? '', req, { maxBodyBytes });
  if (verdict.outcome === 'rejected') {
    log.warn(`webhook rejected: ${verdict.message}`, { status: verdict.status });
    return reply(verdict.status, verdict.message);
  }
  // Suspension is told only to a sender that proved it holds the token.
  if (spec.suspend) {
    log.info(`webhook not acted on: receiver is suspended`);
    return reply(503, `receiver ${formatRef(ref)} is suspended: resume it to act on webhooks`);
  }
  if (verdict.outcome !== 'accepted') {
    log.info(`webhook ${verdict.outcome}: ${verdict.message}`);
    return reply(verdict.status, verdict.message);
  }

  const targets = await webhookTargets(ctx.store, ref, spec, verdict.push);
  const wanted = targets.filter((t) => t.requested);
  const push = verdict.push;
  const what = push ? `${spec.type} push to ${push.branch ?? push.tag ?? push.ref ?? '?'}${push.commit ? ` @ ${push.commit.slice(0, 12)}` : ''}` : `${spec.type} webhook`;
  if (wanted.length > 0) {
    const metadata = { receiver: `${ref.namespace}/${ref.name}`, ...(push?.commit ? { commit: push.commit } : {}) };
    await ctx.bus.publish(wanted.map((t) => reconcileRequest(t.ref, 'WebhookReceived', `${what}, via receiver ${ref.namespace}/${ref.name}`, 'receiver', metadata)));
  }
  for (const t of targets.filter((x) => !x.requested)) log.info(`${formatRef(t.ref)} not requested: ${t.note}`);
  log.info(`${what}: requested ${wanted.length} of ${targets.length}`, { requested: wanted.map((t) => formatRef(t.ref)) });
  const lines = targets.map((t) => `${formatRef(t.ref)}: ${t.note}`);
  return reply(202, [`${what}: ${wanted.length} reconcile(s) requested`, ...lines].join('\n'), wanted.map((t) => t.ref));
}
