import { encode } from '../store/json-records.ts';
import { LeaseLostError, type Lease } from '../store/leases.ts';
import { formatRef, refKey, type ObjectRef } from '../store/refs.ts';
import type { Outcome, ReconcileContext } from './context.ts';
import { recordSchedule } from './schedule.ts';

export type Reconciler = (ctx: ReconcileContext, ref: ObjectRef) => Promise<Outcome>;

export type LeaseRunResult =
  /** This call reconciled the object (once, or again for requests that came in meanwhile). */
  | { readonly ran: true; readonly outcome: Outcome; readonly runs: number; readonly pendingRequest: boolean }
  /** Another holder is reconciling it; the request was left for that holder to pick up. */
  | { readonly ran: false; readonly holder: string };

export interface LeaseRunOptions {
  /** Who holds the lease: a Lambda request id, `local-<pid>`. */
  readonly holder: string;
  /** Lease lifetime; renewed every third of it while the reconcile runs. Default 60 s. */
  readonly ttlMs?: number;
  /** Do not start another run for a request that came in after this time (ms since the epoch). */
  readonly deadline?: number;
}

/**
 * Reconciles an object under its lease, so only one reconcile of an object runs at a time, and
 * never loses a request. The request is first written down (`requests/…`), then the lease is
 * tried:
 * - not acquired: the holder checks for requests after each run and after releasing, so it will
 *   run once more for this one (coalesced: many requests during a run cost one more run);
 * - acquired: the request record is cleared, the reconcile runs, and it runs again while new
 *   requests arrived meanwhile. A request left when the time budget is spent is reported as
 *   `pendingRequest` so the caller re-requests it later.
 */
export async function reconcileUnderLease(ctx: ReconcileContext, ref: ObjectRef, reconcile: Reconciler, options: LeaseRunOptions): Promise<LeaseRunResult> {
  const ttlMs = options.ttlMs ?? 60_000;
  const requestKey = refKey('requests', ref);
  await ctx.store.blobs.put(requestKey, encode({ at: new Date().toISOString(), by: options.holder }));
  const requested = async () => (await ctx.store.blobs.head(requestKey)) !== undefined;
  const timeLeft = () => options.deadline === undefined || Date.now() < options.deadline;

  let runs = 0;
  let outcome: Outcome | undefined;
  for (;;) {
    const got = await ctx.store.leases.acquire(ref, options.holder, ttlMs);
    if (!got.acquired) {
      if (runs > 0) break; // someone took over after our release; our requests are theirs now
      return { ran: false, holder: got.holder };
    }
    const keeper = keepAlive(ctx, got.lease, ttlMs);
    try {
      do {
        await ctx.store.blobs.delete(requestKey); // this run answers every request made so far
        outcome = await reconcile(ctx, ref);
        runs++;
        await recordSchedule(ctx.store, ref, outcome, ctx.now?.() ?? new Date());
      } while (!outcome.resume && timeLeft() && (await requested()));
    } finally {
      await keeper.stop();
    }
    // A request that arrived between the last check and the release found the lease taken.
    if (outcome.resume || !timeLeft() || !(await requested())) break;
  }
  return { ran: true, outcome: outcome!, runs, pendingRequest: await requested() };
}

/** Renews the lease every third of its lifetime; stop() releases it. */
function keepAlive(ctx: ReconcileContext, first: Lease, ttlMs: number): { stop(): Promise<void> } {
  let lease = first;
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = ctx.store.leases.renew(lease, ttlMs).then(
      (l) => { lease = l; },
      (err: Error) => ctx.log.error(err instanceof LeaseLostError ? err.message : `renewing the lease on ${formatRef(lease.ref)}: ${err.message}`, {
        cluster: lease.ref.cluster, namespace: lease.ref.namespace, kind: lease.ref.kind, name: lease.ref.name,
      }),
    );
  }, Math.max(1000, Math.floor(ttlMs / 3)));
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await renewing;
      await ctx.store.leases.release(lease);
    },
  };
}

/**
 * Waits until a request another holder took over has been answered: its request record cleared
 * (a run that covers it started) and the lease free again (that run ended). Returns what the
 * object's status then says.
 */
export async function awaitRequest(ctx: ReconcileContext, ref: ObjectRef, timeoutMs = 10 * 60_000): Promise<Outcome> {
  const requestKey = refKey('requests', ref);
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!(await ctx.store.blobs.head(requestKey)) && !(await ctx.store.leases.holder(ref))) {
      const status = (await ctx.store.status.get(ref))?.value;
      const ready = status?.conditions.find((c) => c.type === 'Ready');
      return { ready: ready?.status === 'True', message: ready?.message ?? 'no status', revision: status?.lastAttemptedRevision };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { ready: false, message: `${formatRef(ref)}: still being reconciled after ${Math.round(timeoutMs / 1000)} s` };
}
