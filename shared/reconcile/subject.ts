import { DetailType } from '../events/event.ts';
import type { Log } from '../log.ts';
import { formatRef, type ObjectRef } from '../store/refs.ts';
import type { KubeObject, ObjectStatus } from '../store/types.ts';
import { withReady } from './conditions.ts';
import type { Outcome, ReconcileContext } from './context.ts';
import { notify } from './notify.ts';

export interface FailOptions {
  revision?: string;
  /** Retry after this long; absent means wait for the spec to change. */
  retryMs?: number;
  /** Mark Stalled: retrying cannot help. */
  stalled?: boolean;
  extra?: Partial<ObjectStatus>;
}

/** A control object being reconciled: its spec and last status, a logger with its identity, and how to fail. */
export interface Subject<Spec> {
  obj: KubeObject;
  spec: Spec;
  generation: number;
  previous: ObjectStatus | undefined;
  log: Log;
  now: () => Date;
  /** Sets Ready=False with the phase's reason, sends the event (unless a repeat), and returns the outcome. */
  fail(reason: string, message: string, options?: FailOptions): Promise<Outcome>;
}

export async function openSubject<Spec>(ctx: ReconcileContext, ref: ObjectRef, controller: string): Promise<Subject<Spec> | undefined> {
  const stored = await ctx.store.objects.get(ref);
  if (!stored) return undefined;
  const obj = stored.value;
  const generation = (obj.metadata.generation as number | undefined) ?? 1;
  const previous = (await ctx.store.status.get(ref).catch(() => undefined))?.value;
  const log = ctx.log.child({ cluster: ref.cluster, namespace: ref.namespace, kind: ref.kind, name: ref.name });
  const now = () => ctx.now?.() ?? new Date();
  return {
    obj,
    spec: (obj.spec ?? {}) as Spec,
    generation,
    previous,
    log,
    now,
    async fail(reason, message, opts = {}) {
      log.error(message, { reason, revision: opts.revision });
      const sent = await notify(ctx, ref, obj.apiVersion, previous, { detailType: DetailType.ReconcileFailed, severity: 'error', reason, message, revision: opts.revision }, controller);
      await ctx.store.status.update(ref, (cur) => withReady(cur, 'False', reason, message, now(), {
        generation, stalled: opts.stalled, ...(opts.revision ? { lastAttemptedRevision: opts.revision } : {}), ...sent, ...opts.extra,
      }), { replaceCorrupt: true });
      return { ready: false, message, revision: opts.revision, ...(opts.retryMs !== undefined ? { requeueAfterMs: opts.retryMs } : {}) };
    },
  };
}

export const notRegistered = (ref: ObjectRef): Outcome => ({ ready: false, message: `${formatRef(ref)} is not registered` });
