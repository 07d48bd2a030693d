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
  /**
   * Write `nextReconcileAt` into status after each run, for a scheduler that keeps no state of
   * its own (the AWS one); default true. tide local keeps its schedule in memory and skips it.
   */
  readonly recordSchedule?: boolean;
}

/**
 * Reconciles an object under its lease, so only one reconcile of an object runs at a time, and
 * never loses a request:
 * - the lease is free: take it, clear any request record (this run answers it), reconcile, and
 *   run again while new requests arrived meanwhile; after releasing, look once more;
 * - the lease is held: write the request down (`requests/…`) and try the lease again (its holder
 *   may have released it in between). Still held: the holder looks for requests after each run
 *   and after releasing, so it runs once more for this one (many requests during a run cost one
 *   more run). Coalesced.
 * A request left when the time budget is spent is reported as `pendingRequest`, for the caller to
 * re-request later.
 */
export async function reconcileUnderLease(ctx: ReconcileContext, ref: ObjectRef, reconcile: Reconciler, options: LeaseRunOptions): Promise<LeaseRunResult> {
  const ttlMs = options.ttlMs ?? 60_000;
  const requestKey = refKey('requests', ref);
  const requested = async () => (await ctx.store.blobs.head(requestKey)) !== undefined;
  const timeLeft = () => options.deadline === undefined || Date.now() < options.deadline;

  let got = await ctx.store.leases.acquire(ref, options.holder, ttlMs);
  if (!got.acquired) {
    await ctx.store.blobs.put(requestKey, encode({ at: new Date().toISOString(), by: options.holder }));
    got = await ctx.store.leases.acquire(ref, options.holder, ttlMs);
    if (!got.acquired) return { ran: false, holder: got.holder };
  }
  let runs = 0;
  let outcome: Outcome | undefined;
  let pendingRequest = false;
  for (;;) {
    const keeper = keepAlive(ctx, got.lease, ttlMs);
    let more = false;
    try {
      do {
        await ctx.store.blobs.delete(requestKey); // this run answers every request made so far
        outcome = await reconcile(ctx, ref);
        runs++;
        if (options.recordSchedule !== false) await recordSchedule(ctx.store, ref, outcome, ctx.now?.() ?? new Date());
        if (outcome.resume || !timeLeft()) break; // the caller goes on later; a request is left for then
        more = await requested();
      } while (more);
    } finally {
      await keeper.stop();
    }
    if (outcome.resume || !timeLeft()) {
      pendingRequest = await requested();
      break;
    }
    // A request that arrived between the last look and the release found the lease taken.
    if (!(await requested())) break;
    const again = await ctx.store.leases.acquire(ref, options.holder, ttlMs);
    if (!again.acquired) break; // its requester (or another) holds it now, and runs for it
    got = again;
  }
  return { ran: true, outcome: outcome!, runs, pendingRequest };
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
