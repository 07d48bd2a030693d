import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MemoryEventBus } from '../../shared/events/memory-bus.ts';
import { Logger } from '../../shared/log.ts';
import type { Outcome, ReconcileContext } from '../../shared/reconcile/context.ts';
import { dueObjects, dueReason } from '../../shared/reconcile/schedule.ts';
import { awaitRequest, reconcileUnderLease } from '../../shared/reconcile/under-lease.ts';
import { DirectoryBlobStore } from '../../shared/store/dir-blob-store.ts';
import { StateStore } from '../../shared/store/state-store.ts';
import type { KubeObject } from '../../shared/store/types.ts';

let dir: string;
let ctx: ReconcileContext;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tide-lease-'));
  ctx = {
    store: new StateStore(new DirectoryBlobStore(dir)),
    bus: new MemoryEventBus(),
    cluster: async () => { throw new Error('no cluster in this test'); },
    secrets: { get: async () => undefined },
    log: new Logger({ write: () => undefined }),
  };
});
after(() => rm(dir, { recursive: true, force: true }));

const ref = (name: string) => ({ cluster: 'dev', namespace: 'flux-system', kind: 'Kustomization', name });
const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
};

describe('reconcileUnderLease: one reconcile of an object at a time, no request lost', () => {
  it('a request made during a run is coalesced into exactly one more run by the holder', async () => {
    const r = ref('coalesce');
    const started = gate();
    const release = gate();
    let runs = 0;
    let concurrent = 0;
    let maxConcurrent = 0;
    const slow = async (): Promise<Outcome> => {
      runs++;
      maxConcurrent = Math.max(maxConcurrent, ++concurrent);
      if (runs === 1) {
        started.open();
        await release.opened;
      }
      concurrent--;
      return { ready: true, message: `run ${runs}`, requeueAfterMs: 60_000 };
    };
    const first = reconcileUnderLease(ctx, r, slow, { holder: 'a' });
    await started.opened;
    // Three more requests while the first run is inside the reconcile: each is coalesced.
    const others = await Promise.all(['b', 'c', 'd'].map((holder) => reconcileUnderLease(ctx, r, slow, { holder })));
    assert.deepEqual(others.map((o) => o.ran), [false, false, false]);
    assert.deepEqual(others.map((o) => (o.ran ? '' : o.holder)), ['a', 'a', 'a']);
    release.open();
    const result = await first;
    assert.ok(result.ran);
    assert.equal(result.runs, 2, 'one more run answers all three');
    assert.equal(runs, 2);
    assert.equal(maxConcurrent, 1);
    assert.equal(result.pendingRequest, false);
    assert.equal(await ctx.store.leases.holder(r), undefined, 'the lease is released');
  });

  it('a request left when the time is up is reported, for the caller to re-request', async () => {
    const r = ref('deadline');
    const started = gate();
    const release = gate();
    const slow = async (): Promise<Outcome> => {
      started.open();
      await release.opened;
      return { ready: true, message: 'done' };
    };
    const first = reconcileUnderLease(ctx, r, slow, { holder: 'a', deadline: Date.now() + 50 });
    await started.opened;
    assert.equal((await reconcileUnderLease(ctx, r, slow, { holder: 'b' })).ran, false);
    await new Promise((res) => setTimeout(res, 60));
    release.open();
    const result = await first;
    assert.ok(result.ran && result.runs === 1 && result.pendingRequest, JSON.stringify(result));
  });

  it('awaitRequest returns once the holder has answered the request', async () => {
    const r = ref('await');
    await ctx.store.objects.put(r, { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: r.name, namespace: r.namespace } });
    const started = gate();
    const release = gate();
    const work = async (): Promise<Outcome> => {
      started.open();
      await release.opened;
      await ctx.store.status.put(r, { conditions: [{ type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message: 'Applied revision: main@sha1:abc', lastTransitionTime: new Date().toISOString() }] });
      return { ready: true, message: 'ok' };
    };
    const first = reconcileUnderLease(ctx, r, work, { holder: 'a' });
    await started.opened;
    assert.equal((await reconcileUnderLease(ctx, r, work, { holder: 'cli' })).ran, false);
    const waited = awaitRequest(ctx, r, 5_000);
    release.open();
    assert.deepEqual(await waited, { ready: true, message: 'Applied revision: main@sha1:abc', revision: undefined });
    await first;
  });
});

describe('schedule: what the scheduler finds due', () => {
  const obj = (generation: number, suspend = false): KubeObject => ({ apiVersion: 'v1', kind: 'Kustomization', metadata: { name: 'x', generation }, spec: { suspend } });
  const now = new Date('2026-11-25T12:00:00Z');
  it('new, a new generation, an elapsed interval; never a Stalled one before its spec changes', () => {
    assert.equal(dueReason(obj(1), undefined, now), 'new');
    assert.equal(dueReason(obj(2), { conditions: [], observedGeneration: 1, nextReconcileAt: '2026-11-25T13:00:00Z' }, now), 'generation');
    assert.equal(dueReason(obj(1), { conditions: [], observedGeneration: 1, nextReconcileAt: '2026-11-25T11:59:59Z' }, now), 'interval');
    assert.equal(dueReason(obj(1), { conditions: [], observedGeneration: 1, nextReconcileAt: '2026-11-25T12:00:01Z' }, now), undefined);
    assert.equal(dueReason(obj(1), { conditions: [], observedGeneration: 1, nextReconcileAt: null }, now), undefined);
  });
  it('skips suspended objects and orders sources first', async () => {
    const c = 'sched';
    const put = (kind: string, name: string, suspend = false) =>
      ctx.store.objects.put({ cluster: c, namespace: 'flux-system', kind, name }, { apiVersion: 'x/v1', kind, metadata: { name, namespace: 'flux-system' }, spec: { suspend } });
    await put('Kustomization', 'apps');
    await put('Kustomization', 'paused', true);
    await put('GitRepository', 'flux-system');
    await put('HelmRelease', 'not-yet-reconciled-by-tide');
    const due = await dueObjects(ctx.store, now, { clusters: [c] });
    assert.deepEqual(due.map((d) => `${d.ref.kind}/${d.ref.name}:${d.why}`), ['GitRepository/flux-system:new', 'Kustomization/apps:new']);
  });

  it('records nextReconcileAt in status after a run (for the AWS scheduler), unless the caller keeps its own schedule', async () => {
    const writeStatus = (r: ReturnType<typeof ref>) => ctx.store.status.update(r, () => ({ conditions: [], observedGeneration: 1 }));
    const work = (r: ReturnType<typeof ref>) => async (): Promise<Outcome> => {
      await writeStatus(r);
      return { ready: true, message: 'ok', requeueAfterMs: 600_000 };
    };
    const recorded = ref('scheduled');
    const before = Date.now();
    await reconcileUnderLease(ctx, recorded, work(recorded), { holder: 'aws' });
    const next = (await ctx.store.status.get(recorded))?.value.nextReconcileAt;
    assert.ok(typeof next === 'string' && Date.parse(next) >= before + 600_000, `nextReconcileAt ${next}`);
    const local = ref('local-schedule');
    await reconcileUnderLease(ctx, local, work(local), { holder: 'local', recordSchedule: false });
    assert.equal((await ctx.store.status.get(local))?.value.nextReconcileAt, undefined);
  });
});
