import { StoreConflictError } from '../store/errors.ts';
import type { StateStore } from '../store/state-store.ts';
import type { ObjectRef } from '../store/refs.ts';
import type { KubeObject, ObjectStatus } from '../store/types.ts';
import { mapLimit } from '../util/map-limit.ts';
import type { Outcome } from './context.ts';

/** Kinds Tide reconciles, sources before their consumers. */
export const SOURCE_KINDS = ['GitRepository', 'Bucket'] as const;
export const RECONCILED_KINDS = [...SOURCE_KINDS, 'Receiver', 'Kustomization'] as const;

/**
 * Writes when the object is due next into its status (`nextReconcileAt`, RFC 3339), so a
 * scheduler with no memory of its own (a Lambda run every minute) finds it: after `interval`,
 * or `retryInterval` after a failure. `null` means "when the spec changes" (Stalled, suspended).
 * A resumed health wait is re-requested by the caller itself and leaves the time as it was.
 */
export async function recordSchedule(store: StateStore, ref: ObjectRef, outcome: Outcome, now: Date): Promise<void> {
  if (outcome.resume) return;
  const next = outcome.requeueAfterMs !== undefined ? new Date(now.getTime() + outcome.requeueAfterMs).toISOString() : null;
  const current = await store.status.get(ref).catch(() => undefined);
  if (!current) return; // never reconciled (not registered): nothing to schedule
  try {
    await store.status.swap(ref, { ...current.value, nextReconcileAt: next }, current.etag);
  } catch (err) {
    if (!(err instanceof StoreConflictError)) throw err;
    // Written meanwhile (a status change from another writer): read again and retry.
    await store.status.update(ref, (cur) => ({ ...(cur as ObjectStatus), nextReconcileAt: next }));
  }
}

export type DueReason = 'new' | 'generation' | 'interval';

export interface Due {
  readonly ref: ObjectRef;
  readonly why: DueReason;
}

/**
 * What is due across the fleet at `now`: objects never reconciled, objects whose spec changed
 * since (a new generation: a Stalled object waits for exactly that), and objects whose
 * `nextReconcileAt` has come. Suspended objects are never due. Objects whose status cannot be
 * read are due (a reconcile rewrites it) and reported.
 */
export async function dueObjects(store: StateStore, now: Date, options: { clusters?: string[]; onError?: (ref: ObjectRef, err: Error) => void } = {}): Promise<Due[]> {
  const due: Due[] = [];
  for (const cluster of options.clusters ?? (await store.clusters())) {
    const objects = (await store.objects.list(cluster)).items.filter((o) => (RECONCILED_KINDS as readonly string[]).includes(o.ref.kind));
    const found = await mapLimit(objects, 16, async (o) => {
      if ((o.value.spec as { suspend?: boolean } | undefined)?.suspend) return undefined;
      let status: ObjectStatus | undefined;
      try {
        status = (await store.status.get(o.ref))?.value;
      } catch (err) {
        options.onError?.(o.ref, err as Error);
        return { ref: o.ref, why: 'new' as const };
      }
      const why = dueReason(o.value, status, now);
      return why && { ref: o.ref, why };
    });
    for (const d of found) if (d) due.push(d);
  }
  // Sources first, so a consumer requested in the same tick reads the new artifact.
  const order = (k: string) => (RECONCILED_KINDS as readonly string[]).indexOf(k);
  return due.sort((a, b) => order(a.ref.kind) - order(b.ref.kind));
}

export function dueReason(obj: KubeObject, status: ObjectStatus | undefined, now: Date): DueReason | undefined {
  if (!status) return 'new';
  const generation = (obj.metadata.generation as number | undefined) ?? 1;
  if ((status.observedGeneration ?? 0) < generation) return 'generation';
  const next = status.nextReconcileAt;
  if (next === null) return undefined;
  // A status written before schedules were recorded: reconcile once to record one.
  if (typeof next !== 'string') return 'interval';
  return Date.parse(next) <= now.getTime() ? 'interval' : undefined;
}
