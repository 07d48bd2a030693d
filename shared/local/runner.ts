import type { Outcome, ReconcileContext } from '../reconcile/context.ts';
import { consumersOf } from '../reconcile/consumers.ts';
import type { KustomizationSpec } from '../reconcile/kustomization.ts';
import { reconcilerFor } from '../reconcile/all-reconcilers.ts';
import { SOURCE_KINDS } from '../reconcile/schedule.ts';
import { reconcileUnderLease } from '../reconcile/under-lease.ts';
import type { JsonRecords } from '../store/json-records.ts';
import { formatRef, type ObjectRef } from '../store/refs.ts';
import type { KubeObject } from '../store/types.ts';
import { inDependencyOrder } from './dependency-order.ts';

/** Kinds reconciled before the Kustomizations of a cluster. */
const FIRST_KINDS = [...SOURCE_KINDS, 'Receiver'];

/**
 * Where the runner lists the registered objects each tick: the store's own records, or a cache of
 * them that reads only what changed (local mode's DirectoryRecordCache).
 */
export type ObjectLister = Pick<JsonRecords<KubeObject>, 'list'>;

export interface PassResult {
  ref: ObjectRef;
  outcome: Outcome;
  /** The object's generation this run reconciled. */
  generation?: number;
}

/**
 * What a `once()` has already settled: objects Ready at a generation, and the revision each
 * source and Kustomization was last at. A Kustomization is settled only while its source's
 * latest revision is the one it applied and none of its dependencies ran again in this pass, so
 * a source fetched anew is followed by its consumers, and a dependency that changed (or now
 * fails) by its dependents, in the same pass.
 */
class Settled {
  private readonly last = new Map<string, { r: PassResult; pass: number }>();
  private pass = 0;

  nextPass(): void {
    this.pass++;
  }

  record(r: PassResult): void {
    this.last.set(formatRef(r.ref), { r, pass: this.pass });
  }

  /** Ready at this generation and source revision, with none of its dependencies run again in this pass. */
  has(ref: ObjectRef, generation: number, source?: ObjectRef, dependsOn: ObjectRef[] = []): boolean {
    const prev = this.last.get(formatRef(ref))?.r;
    if (!prev?.outcome.ready || prev.generation !== generation) return false;
    if (dependsOn.some((d) => this.last.get(formatRef(d))?.pass === this.pass)) return false;
    if (!source) return true;
    const src = this.last.get(formatRef(source))?.r;
    return src?.outcome.revision !== undefined && src.outcome.revision === prev.outcome.revision;
  }
}

/**
 * Runs the reconcilers over every registered cluster, as the scheduler and the functions do on
 * AWS: sources first, then Kustomizations with their dependencies first.
 */
export class LocalRunner {
  /** When each object is due next, and at which generation that was decided: a new generation is due at once. */
  private readonly due = new Map<string, { at: number; generation: number }>();

  constructor(
    private readonly ctx: ReconcileContext,
    private readonly clusters: () => Promise<string[]>,
    /**
     * Kustomizations of one dependency level reconciled at once; default 32. A reconcile mostly
     * waits (apply round trips, health checks); builds queue for the tide-kustomize processes.
     */
    private readonly concurrency = Number(process.env.TIDE_LOCAL_CONCURRENCY ?? 32),
    /** Subscribes to "Source Updated" events; returns how to unsubscribe. */
    private readonly onSourceUpdated?: (handler: (source: ObjectRef) => void) => () => void,
    /** How the registered objects are listed every tick; default the store, read in full each time. */
    private readonly objects: ObjectLister = ctx.store.objects,
  ) {}

  /** One pass over everything (or only what is due, with `onlyDue`). */
  async pass(options: { onlyDue?: boolean; onResult?: (r: PassResult) => void; settled?: Settled; skipSettled?: boolean } = {}): Promise<PassResult[]> {
    const results: PassResult[] = [];
    const now = Date.now();
    const run = async (ref: ObjectRef, generation: number, source?: ObjectRef, dependsOn?: ObjectRef[]) => {
      const key = formatRef(ref);
      const due = this.due.get(key);
      // Due when its time came, or when its spec changed (a Stalled object waits for exactly that).
      if (options.onlyDue && due && due.at > now && due.generation === generation) return;
      if (options.skipSettled && options.settled?.has(ref, generation, source, dependsOn)) return;
      let outcome: Outcome;
      try {
        // Under the object's lease, as on AWS: a `tide reconcile` beside `tide local` does not run it twice at once.
        // The schedule is this runner's `due` map, so nextReconcileAt (the AWS scheduler's) is not written.
        const r = await reconcileUnderLease(this.ctx, ref, reconcilerFor(ref.kind), { holder: `local-${process.pid}`, recordSchedule: false });
        outcome = r.ran ? r.outcome : { ready: false, message: `being reconciled by ${r.holder}`, requeueAfterMs: 2_000 };
      } catch (err) {
        this.ctx.log.error(`reconcile of ${key} failed unexpectedly: ${(err as Error).message}`, { cluster: ref.cluster, namespace: ref.namespace, kind: ref.kind, name: ref.name });
        outcome = { ready: false, message: (err as Error).message, requeueAfterMs: 30_000 };
      }
      this.due.set(key, { at: outcome.requeueAfterMs !== undefined ? Date.now() + outcome.requeueAfterMs : Number.POSITIVE_INFINITY, generation });
      const r = { ref, outcome, generation };
      results.push(r);
      options.settled?.record(r);
      options.onResult?.(r);
    };
    for (const cluster of await this.clusters()) {
      for (const kind of FIRST_KINDS) {
        for (const item of (await this.objects.list(cluster, { kind })).items) await run(item.ref, generationOf(item.value));
      }
      const ks = (await this.objects.list(cluster, { kind: 'Kustomization' })).items;
      const byKey = new Map(ks.map((k) => [formatRef(k.ref), k]));
      await inDependencyOrder(ks.map((k) => ({ ref: k.ref, spec: k.value.spec as KustomizationSpec })), this.concurrency, (ref) => {
        const k = byKey.get(formatRef(ref))!;
        const spec = k.value.spec as KustomizationSpec | undefined;
        const src = spec?.sourceRef;
        const deps = (spec?.dependsOn ?? []).map((d) => ({ cluster: ref.cluster, namespace: d.namespace ?? ref.namespace, kind: 'Kustomization', name: d.name }));
        return run(ref, generationOf(k.value), src && { cluster: ref.cluster, namespace: src.namespace ?? ref.namespace, kind: src.kind, name: src.name }, deps);
      });
    }
    return results;
  }

  /**
   * Passes until everything is Ready or a pass changes nothing more (a bootstrap registers new
   * objects that need a pass of their own). Returns what was last seen of each object.
   */
  async once(maxPasses = 10, onResult?: (r: PassResult) => void, onRun?: (r: PassResult) => void): Promise<Map<string, PassResult>> {
    const last = new Map<string, PassResult>();
    // Tell the caller about an object only when what it has to say changed.
    const report = (r: PassResult) => {
      onRun?.(r);
      const prev = last.get(formatRef(r.ref));
      if (!prev || prev.outcome.ready !== r.outcome.ready || prev.outcome.message.split('\n')[0] !== r.outcome.message.split('\n')[0]) onResult?.(r);
    };
    // After the first pass, what is Ready at its generation (and, for a Kustomization, at its
    // source's revision, with no dependency run again) is not run again: only what a pass
    // registered, changed or left not Ready, and what follows from those.
    const settled = new Settled();
    for (let i = 0; i < maxPasses; i++, settled.nextPass()) {
      const before = await this.fingerprint();
      for (const r of await this.pass({ onResult: report, settled, skipSettled: i > 0 })) last.set(formatRef(r.ref), r);
      if ((await this.fingerprint()) === before) {
        const allReady = [...last.values()].every((r) => r.outcome.ready);
        // Not ready yet: one more pass may help (a dependency became Ready late in this one).
        if (allReady || i > 0) break;
      }
    }
    return last;
  }

  /**
   * Reconciles what is due, forever, until the signal aborts. A source's new revision ("Source
   * Updated") makes its consumers due at once, as on AWS, instead of at their own interval.
   */
  async run(signal: AbortSignal, onResult?: (r: PassResult) => void, tickMs = 1000): Promise<void> {
    const unsubscribe = this.onSourceUpdated?.((source) => void this.requestConsumers(source));
    try {
      while (!signal.aborted) {
        await this.pass({ onlyDue: true, onResult });
        await new Promise((r) => setTimeout(r, tickMs));
      }
    } finally {
      unsubscribe?.();
    }
  }

  /** Makes every Kustomization that reads this source due now. */
  async requestConsumers(source: ObjectRef): Promise<void> {
    for (const ref of await consumersOf(this.ctx.store, source)) this.request(ref);
  }

  /** Ask for an object to be reconciled at the next tick. */
  request(ref: ObjectRef): void {
    const key = formatRef(ref);
    this.due.set(key, { at: 0, generation: this.due.get(key)?.generation ?? 0 });
  }

  /**
   * What registered objects exist, at which generation. A pass that leaves it unchanged needs no
   * second pass: sources run before their consumers, and dependencies before their dependents.
   */
  private async fingerprint(): Promise<string> {
    const parts: string[] = [];
    for (const cluster of await this.clusters()) {
      for (const item of (await this.objects.list(cluster)).items) parts.push(`${formatRef(item.ref)}=${item.value.metadata.generation}`);
    }
    return parts.sort().join('\n');
  }
}

function generationOf(o: KubeObject): number {
  return (o.metadata.generation as number | undefined) ?? 1;
}
