import { digest } from '../apply/digest.ts';
import { DetailType, newEvent, type Severity } from '../events/event.ts';
import type { ObjectRef } from '../store/refs.ts';
import type { ObjectStatus } from '../store/types.ts';
import type { ReconcileContext } from './context.ts';

export interface Notice {
  detailType: DetailType;
  severity: Severity;
  reason: string;
  message: string;
  revision?: string;
  metadata?: Record<string, string>;
}

/**
 * Sends an event for an object unless it repeats the last one sent (same reason, message and
 * revision): Flux users complain of alert spam (flux2#626). Returns the status field that
 * remembers what was sent. The event carries the object's identity and revision.
 */
export async function notify(ctx: ReconcileContext, ref: ObjectRef, apiVersion: string, status: ObjectStatus | undefined, n: Notice, controller: string): Promise<{ lastEventDigest: string }> {
  const d = digest([n.reason, n.message, n.revision ?? '', n.severity]);
  if (status?.lastEventDigest === d) return { lastEventDigest: d };
  try {
    await ctx.bus.publish([
      newEvent(n.detailType, {
        involvedObject: { kind: ref.kind, namespace: ref.namespace, name: ref.name, apiVersion },
        cluster: ref.cluster,
        severity: n.severity,
        reason: n.reason,
        message: n.message,
        ...(n.revision ? { revision: n.revision } : {}),
        ...(n.metadata ? { metadata: n.metadata } : {}),
        reportingController: controller,
        ...(ctx.now ? { timestamp: ctx.now().toISOString() } : {}),
      }),
    ]);
  } catch (err) {
    // The reconcile's outcome stands; the event is reported here and sent again next time
    // (its digest is not remembered as sent).
    ctx.log.error(`event ${n.detailType} for ${ref.cluster}/${ref.namespace}/${ref.kind}/${ref.name} not published: ${(err as Error).message}`, {
      cluster: ref.cluster, namespace: ref.namespace, kind: ref.kind, name: ref.name, revision: n.revision, reason: n.reason,
    });
    return { lastEventDigest: typeof status?.lastEventDigest === 'string' ? status.lastEventDigest : '' };
  }
  return { lastEventDigest: d };
}
