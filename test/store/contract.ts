import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  InvalidRefError,
  LeaseLostError,
  StateStore,
  StoreConflictError,
  StoreCorruptError,
  type BlobStore,
  type ObjectRef,
} from '../../shared/store/index.ts';

/** What each implementation's test file provides: a fresh, empty BlobStore per call. */
export type MakeBlobs = () => Promise<BlobStore>;

/** A BlobStore that counts the writes that reach the real one. */
function counting(blobs: BlobStore): BlobStore & { puts: number } {
  const c = Object.create(blobs) as BlobStore & { puts: number };
  c.puts = 0;
  c.put = (key, body, options) => {
    c.puts++;
    return blobs.put(key, body, options);
  };
  return c;
}

const ks = (name: string, cluster = 'dev'): ObjectRef => ({ cluster, namespace: 'flux-system', kind: 'Kustomization', name });
const kustomization = (name: string) => ({
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: { name, namespace: 'flux-system' },
  spec: { interval: '10m', path: './apps', prune: true },
});
const readyStatus = (rev: string) => ({
  conditions: [{ type: 'Ready', status: 'True' as const, reason: 'ReconciliationSucceeded', message: `Applied revision: ${rev}`, lastTransitionTime: new Date(0).toISOString() }],
  lastAppliedRevision: rev,
});

/** The semantics every store must have, run against each implementation. */
export function storeContract(name: string, makeBlobs: MakeBlobs): void {
  const fresh = async (now?: () => number) => {
    const blobs = counting(await makeBlobs());
    return { blobs, store: new StateStore(blobs, { now }) };
  };

  describe(`${name}: control objects`, () => {
    it('keeps the same namespace/kind/name apart per cluster', async () => {
      const { store } = await fresh();
      await store.objects.put(ks('apps', 'staging'), kustomization('apps'));
      const prod = kustomization('apps');
      prod.spec.path = './apps/production';
      await store.objects.put(ks('apps', 'production'), prod);
      assert.deepEqual((await store.objects.get(ks('apps', 'staging')))?.value.spec, kustomization('apps').spec);
      assert.deepEqual((await store.objects.get(ks('apps', 'production')))?.value.spec, prod.spec);
      assert.deepEqual(await store.clusters(), ['production', 'staging']);
    });

    it('lists by cluster and kind, and deletes', async () => {
      const { store } = await fresh();
      await store.objects.put(ks('apps'), kustomization('apps'));
      await store.objects.put(ks('infra'), kustomization('infra'));
      await store.objects.put({ cluster: 'dev', namespace: 'flux-system', kind: 'GitRepository', name: 'flux-system' }, {
        apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'flux-system', namespace: 'flux-system' },
      });
      const listed = await store.objects.list('dev', { kind: 'Kustomization' });
      assert.deepEqual(listed.items.map((i) => i.ref.name), ['apps', 'infra']);
      assert.equal(listed.errors.length, 0);
      await store.objects.delete(ks('apps'));
      await store.objects.delete(ks('apps')); // already gone is fine
      assert.equal(await store.objects.get(ks('apps')), undefined);
      assert.equal((await store.objects.list('dev')).items.length, 2);
    });

    it('keeps cluster-scoped objects (empty namespace)', async () => {
      const { store } = await fresh();
      const ref = { cluster: 'dev', namespace: '', kind: 'ClusterPolicy', name: 'p' };
      await store.objects.put(ref, { apiVersion: 'v1', kind: 'ClusterPolicy', metadata: { name: 'p' } });
      const [item] = (await store.objects.list('dev')).items;
      assert.deepEqual(item?.ref, ref);
    });

    it('refuses a ref that cannot name a key, naming the field', async () => {
      const { store } = await fresh();
      await assert.rejects(store.objects.get({ cluster: '../etc', namespace: 'x', kind: 'Kustomization', name: 'a' }), (err: Error) => {
        assert.ok(err instanceof InvalidRefError);
        assert.match(err.message, /invalid cluster "\.\.\/etc"/);
        return true;
      });
      await assert.rejects(store.objects.put(ks('a/../../b'), kustomization('x')), /invalid name/);
      await assert.rejects(store.status.get({ ...ks('a'), kind: 'kustomization' }), /invalid kind/);
    });
  });

  describe(`${name}: status compare-and-swap`, () => {
    it('creates only when absent, swaps only on the etag read', async () => {
      const { store } = await fresh();
      const ref = ks('apps');
      const e1 = await store.status.swap(ref, readyStatus('main@sha1:1'), null);
      await assert.rejects(store.status.swap(ref, readyStatus('main@sha1:x'), null), StoreConflictError);
      const e2 = await store.status.swap(ref, readyStatus('main@sha1:2'), e1);
      assert.notEqual(e1, e2);
      // A writer holding the first etag lost the race: typed conflict, no overwrite.
      await assert.rejects(store.status.swap(ref, readyStatus('main@sha1:stale'), e1), (err: Error) => {
        assert.ok(err instanceof StoreConflictError);
        assert.match(err.message, /clusters\/dev\/status\/flux-system\/Kustomization\/apps\.json/);
        return true;
      });
      const now = await store.status.get(ref);
      assert.equal(now?.value.lastAppliedRevision, 'main@sha1:2');
      assert.equal(now?.etag, e2);
    });

    it('refuses a swap on a record deleted since it was read', async () => {
      const { store } = await fresh();
      const ref = ks('apps');
      const etag = await store.status.swap(ref, readyStatus('r1'), null);
      await store.status.delete(ref);
      await assert.rejects(store.status.swap(ref, readyStatus('r2'), etag), StoreConflictError);
      assert.equal(await store.status.get(ref), undefined);
    });

    it('update() reads, changes and swaps', async () => {
      const { store } = await fresh();
      const ref = ks('apps');
      await store.status.update(ref, () => readyStatus('r1'));
      const out = await store.status.update(ref, (cur) => ({ ...cur!, lastAttemptedRevision: 'r2' }));
      assert.equal(out.value.lastAppliedRevision, 'r1');
      assert.equal((await store.status.get(ref))?.value.lastAttemptedRevision, 'r2');
    });

    it('inventory is compare-and-swap too', async () => {
      const { store } = await fresh();
      const ref = ks('apps');
      const e = await store.inventory.swap(ref, { revision: 'r1', entries: [{ id: 'apps_podinfo_apps_Deployment', v: 'v1' }] }, null);
      await assert.rejects(store.inventory.swap(ref, { entries: [] }, null), StoreConflictError);
      await store.inventory.swap(ref, { revision: 'r2', entries: [] }, e);
      assert.equal((await store.inventory.get(ref))?.value.revision, 'r2');
    });
  });

  describe(`${name}: corrupt records`, () => {
    it('names the key of a truncated record and loses nothing else', async () => {
      const { store, blobs } = await fresh();
      await store.status.put(ks('good'), readyStatus('r1'));
      await store.status.put(ks('bad'), readyStatus('r1'));
      const full = JSON.stringify(readyStatus('r1'));
      await blobs.put(store.status.key(ks('bad')), new TextEncoder().encode(full.slice(0, full.length / 2)));
      await assert.rejects(store.status.get(ks('bad')), (err: Error) => {
        assert.ok(err instanceof StoreCorruptError);
        assert.match(err.message, /clusters\/dev\/status\/flux-system\/Kustomization\/bad\.json is corrupt \(not valid JSON/);
        return true;
      });
      const listed = await store.status.list('dev');
      assert.deepEqual(listed.items.map((i) => i.ref.name), ['good']);
      assert.equal(listed.errors.length, 1);
      assert.equal(listed.errors[0]?.key, store.status.key(ks('bad')));
      assert.equal((await store.status.get(ks('good')))?.value.lastAppliedRevision, 'r1');
    });

    it('names a record of the wrong shape, and update() will not write over it unless told', async () => {
      const { store, blobs } = await fresh();
      await blobs.put(store.status.key(ks('odd')), new TextEncoder().encode('{"conditions":"yes"}'));
      await assert.rejects(store.status.get(ks('odd')), /field conditions is missing or not an array/);
      await assert.rejects(store.status.update(ks('odd'), () => readyStatus('r2')), StoreCorruptError);
      await assert.rejects(store.status.get(ks('odd')), StoreCorruptError); // untouched
      await store.status.update(ks('odd'), () => readyStatus('r2'), { replaceCorrupt: true });
      assert.equal((await store.status.get(ks('odd')))?.value.lastAppliedRevision, 'r2');
    });

    it('an empty control object file is an error naming it', async () => {
      const { store, blobs } = await fresh();
      await blobs.put(store.objects.key(ks('empty')), new Uint8Array());
      await assert.rejects(store.objects.get(ks('empty')), /objects\/flux-system\/Kustomization\/empty\.json is corrupt \(empty\)/);
    });
  });

  describe(`${name}: leases`, () => {
    it('one holder at a time; the other is told who holds it', async () => {
      const { store } = await fresh();
      const a = await store.leases.acquire(ks('apps'), 'invocation-a', 60_000);
      assert.ok(a.acquired);
      const b = await store.leases.acquire(ks('apps'), 'invocation-b', 60_000);
      assert.equal(b.acquired, false);
      assert.equal(!b.acquired && b.holder, 'invocation-a');
      assert.ok(await store.leases.release(a.lease));
      const c = await store.leases.acquire(ks('apps'), 'invocation-c', 60_000);
      assert.ok(c.acquired);
    });

    it('a live lease is never stolen, an expired one is taken over', async () => {
      let now = 1_000_000;
      const { store } = await fresh(() => now);
      const a = await store.leases.acquire(ks('apps'), 'crashed', 30_000);
      assert.ok(a.acquired);
      now += 29_000;
      assert.equal((await store.leases.acquire(ks('apps'), 'b', 30_000)).acquired, false);
      now += 2_000;
      const b = await store.leases.acquire(ks('apps'), 'b', 30_000);
      assert.ok(b.acquired);
      // The crashed holder wakes up: it can neither renew nor release what it lost.
      await assert.rejects(store.leases.renew(a.lease, 30_000), LeaseLostError);
      assert.equal(await store.leases.release(a.lease), false);
      const c = await store.leases.acquire(ks('apps'), 'c', 30_000);
      assert.equal(!c.acquired && c.holder, 'b');
    });

    it('renew extends the lease', async () => {
      let now = 0;
      const { store } = await fresh(() => now);
      const a = await store.leases.acquire(ks('apps'), 'a', 10_000);
      assert.ok(a.acquired);
      now = 9_000;
      const renewed = await store.leases.renew(a.lease, 10_000);
      now = 15_000;
      assert.equal((await store.leases.acquire(ks('apps'), 'b', 10_000)).acquired, false);
      assert.ok(await store.leases.release(renewed));
    });

    it('a corrupt lease does not block forever', async () => {
      const { store, blobs } = await fresh();
      await blobs.put(store.leases.key(ks('apps')), new TextEncoder().encode('{"hold'));
      assert.ok((await store.leases.acquire(ks('apps'), 'a', 10_000)).acquired);
    });
  });

  describe(`${name}: artifacts`, () => {
    const src = { cluster: 'dev', namespace: 'flux-system', kind: 'GitRepository', name: 'flux-system' };
    const bytes = new TextEncoder().encode('pretend this is a tar.gz');

    it('stores by sha256, and an existing digest uploads nothing', async () => {
      const { store, blobs } = await fresh();
      const first = await store.artifacts.put(src, bytes);
      assert.match(first.digest, /^sha256:[a-f0-9]{64}$/);
      assert.equal(first.uploaded, true);
      assert.match(first.key, /^clusters\/dev\/artifacts\/flux-system\/GitRepository\/flux-system\/[a-f0-9]{64}\.tar\.gz$/);
      const putsBefore = blobs.puts;
      const again = await store.artifacts.put(src, bytes);
      assert.equal(again.uploaded, false);
      assert.equal(again.digest, first.digest);
      assert.equal(blobs.puts, putsBefore, 'no write reached the store');
      assert.deepEqual(Buffer.from((await store.artifacts.get(src, first.digest))!), Buffer.from(bytes));
      assert.deepEqual(await store.artifacts.list(src), [first.digest]);
    });

    it('refuses a truncated artifact by name', async () => {
      const { store, blobs } = await fresh();
      const { digest, key } = await store.artifacts.put(src, bytes);
      await blobs.put(key, bytes.slice(0, 10));
      await assert.rejects(store.artifacts.get(src, digest), (err: Error) => {
        assert.ok(err instanceof StoreCorruptError);
        assert.equal((err as StoreCorruptError).key, key);
        assert.match(err.message, /truncated or altered/);
        return true;
      });
      assert.equal(await store.artifacts.get(src, `sha256:${'0'.repeat(64)}`), undefined);
      await assert.rejects(store.artifacts.get(src, 'md5:abc'), /not of the form sha256/);
    });
  });
}
