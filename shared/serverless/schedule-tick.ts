import { reconcileRequest } from '../events/requests.ts';
import type { ReconcileContext } from '../reconcile/context.ts';
import { dueObjects } from '../reconcile/schedule.ts';
import { formatRef, type ObjectRef } from '../store/refs.ts';
import { mapLimit } from '../util/map-limit.ts';

const WHY = { new: 'never reconciled', generation: 'spec changed', interval: 'interval elapsed' } as const;

/**
 * One tick of the scheduler: every object due across the fleet gets a "Reconcile Requested".
 * One being reconciled right now (its lease held) is left alone: its run writes its next time,
 * and a request would only make it run twice.
 */
export async function scheduleTick(ctx: ReconcileContext, now = new Date()): Promise<ObjectRef[]> {
  const due = await dueObjects(ctx.store, now, {
    onError: (ref, err) => ctx.log.warn(`status of ${formatRef(ref)} unreadable, requesting a reconcile to rewrite it: ${err.message}`, { cluster: ref.cluster, namespace: ref.namespace, kind: ref.kind, name: ref.name }),
  });
  const free = (await mapLimit(due, 16, async (d) => ((await ctx.store.leases.holder(d.ref)) ? undefined : d))).filter((d) => d !== undefined);
  if (free.length) await ctx.bus.publish(free.map((d) => reconcileRequest(d.ref, 'Scheduled', WHY[d.why], 'scheduler')));
  ctx.log.info(`requested ${free.length} due object(s)`, { due: due.length, busy: due.length - free.length });
  return free.map((d) => d.ref);
}
