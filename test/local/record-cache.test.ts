import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MemoryEventBus } from '../../shared/events/index.ts';
import { LocalRunner } from '../../shared/local/runner.ts';
import { Logger } from '../../shared/log.ts';
import type { ReconcileContext } from '../../shared/reconcile/context.ts';
import { DirectorySecrets } from '../../shared/secrets/secrets.ts';
import { DirectoryBlobStore, StateStore, type BlobStore, type ObjectRef } from '../../shared/store/index.ts';
import { DirectoryRecordCache } from '../../shared/store/dir-record-cache.ts';
import type { KubeObject } from '../../shared/store/types.ts';

// tide local lists every registered object every tick. Through DirectoryRecordCache a tick in which
// nothing changed reads no object file, and a change another process makes to the store directory
// is still seen at the next tick. Reads are counted where they reach the directory store.

const writer = fileURLToPath(new URL('./store-writer.ts', import.meta.url));
/** Past DirectoryRecordCache's window in which a just-written entry is not trusted. */
const SETTLED_AFTER_MS = 2_300;

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A BlobStore that records which object files are read and listed through it. */
function recording(blobs: BlobStore): BlobStore & { objectReads: string[]; objectLists: string[] } {
  const r = Object.create(blobs) as BlobStore & { objectReads: string[]; objectLists: string[] };
  r.objectReads = [];
  r.objectLists = [];
  const isObjects = (key: string) => key.split('/')[2] === 'objects';
  r.get = (key) => {
    if (isObjects(key)) r.objectReads.push(key);
    return blobs.get(key);
  };
  r.head = (key) => {
    if (isObjects(key)) r.objectReads.push(key);
    return blobs.head(key);
  };
  r.list = (prefix) => {
    if (isObjects(prefix) || prefix === 'clusters/') r.objectLists.push(prefix);
    return blobs.list(prefix);
  };
  return r;
}

/**
 * The directory as two processes see it: `other`, a separate store on it (a `tide` command), and
 * the runner's side, whose reads are recorded, with the cache tide local lists through.
 */
async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'tide-cache-'));
  dirs.push(dir);
  const other = new StateStore(new DirectoryBlobStore(dir));
  const blobs = recording(new DirectoryBlobStore(dir));
  const store = new StateStore(blobs);
  const cache = new DirectoryRecordCache(dir, store.objects);
  return { dir, other, blobs, store, cache };
}

const ks = (name: string, namespace = 'flux-system', cluster = 'c1'): ObjectRef => ({ cluster, namespace, kind: 'Kustomization', name });
/** A suspended Kustomization: its reconcile reads it, reports "suspended" and is due again only at a new generation. */
const kustomization = (ref: ObjectRef, generation: number): KubeObject => ({
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: { name: ref.name, namespace: ref.namespace, generation },
  spec: { interval: '10m', path: './', prune: true, sourceRef: { kind: 'GitRepository', name: 'flux-system' }, suspend: true },
});
const gitRepository = (name: string): KubeObject => ({
  apiVersion: 'source.toolkit.fluxcd.io/v1',
  kind: 'GitRepository',
  metadata: { name, namespace: 'flux-system', generation: 1 },
  spec: { interval: '1m', url: 'https://example.invalid/fleet.git', suspend: true },
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const generations = async (cache: DirectoryRecordCache<KubeObject>, cluster = 'c1') =>
  Object.fromEntries((await cache.list(cluster)).items.map((i) => [`${i.ref.namespace}/${i.ref.kind}/${i.ref.name}`, i.value.metadata.generation]));

/** Runs `tide`'s store writes in a separate process. */
async function inOtherProcess(dir: string, ops: Array<{ put: ObjectRef; value: KubeObject } | { delete: ObjectRef }>): Promise<void> {
  await promisify(execFile)(process.execPath, ['--import', 'tsx', writer, dir, JSON.stringify(ops)]);
}

function runnerOn(dir: string, store: StateStore, cache: DirectoryRecordCache<KubeObject>): LocalRunner {
  const ctx: ReconcileContext = {
    store,
    bus: new MemoryEventBus(),
    cluster: async (name) => {
      throw new Error(`no cluster ${name} in this test`);
    },
    secrets: new DirectorySecrets(join(dir, 'secrets')),
    log: new Logger({ write: () => undefined }),
  };
  // As openLocal wires it.
  return new LocalRunner(ctx, async () => ['c1'], undefined, undefined, cache);
}

describe('tide local: a tick when nothing changed', () => {
  it('reads no object file, neither listing nor once() fingerprinting', async () => {
    const { dir, other, blobs, store, cache } = await setup();
    const N = 200;
    await other.objects.put({ cluster: 'c1', namespace: 'flux-system', kind: 'GitRepository', name: 'flux-system' }, gitRepository('flux-system'));
    for (let i = 0; i < N; i++) await other.objects.put(ks(`app-${i}`), kustomization(ks(`app-${i}`), 1));
    const runner = runnerOn(dir, store, cache);

    const first = await runner.pass({ onlyDue: true });
    assert.equal(first.length, N + 1, 'everything is reconciled once');
    await sleep(SETTLED_AFTER_MS);
    await runner.pass({ onlyDue: true }); // reads once more what was written less than the window before it was read

    for (let tick = 0; tick < 3; tick++) {
      blobs.objectReads.length = 0;
      blobs.objectLists.length = 0;
      const ran = await runner.pass({ onlyDue: true });
      assert.deepEqual(ran, [], 'nothing is due');
      assert.deepEqual(blobs.objectReads, [], `tick ${tick} read no object file`);
      assert.deepEqual(blobs.objectLists, [], `tick ${tick} listed no object keys`);
    }

    // once() reconciles everything every pass (each reconcile reads its own object); its
    // before/after fingerprints read nothing more.
    let passes = 0;
    const pass = runner.pass.bind(runner);
    runner.pass = (options) => (passes++, pass(options));
    blobs.objectReads.length = 0;
    const last = await runner.once(10);
    assert.equal(last.size, N + 1);
    assert.ok(passes >= 1);
    assert.equal(blobs.objectReads.length, passes * (N + 1), `${passes} pass(es) read each object once, in its reconcile`);
  });
});

describe('tide local: a change by another process is seen at the next tick', () => {
  it('a new object, a new generation and a deleted object, written by a separate process', async () => {
    const { dir, blobs, store, cache } = await setup();
    const other = new StateStore(new DirectoryBlobStore(dir));
    for (let i = 0; i < 20; i++) await other.objects.put(ks(`app-${i}`), kustomization(ks(`app-${i}`), 1));
    const runner = runnerOn(dir, store, cache);
    assert.equal((await runner.pass({ onlyDue: true })).length, 20);
    await sleep(SETTLED_AFTER_MS);
    assert.deepEqual(await runner.pass({ onlyDue: true }), []);
    blobs.objectReads.length = 0;
    assert.deepEqual(await runner.pass({ onlyDue: true }), []);
    assert.deepEqual(blobs.objectReads, []);

    // As `tide bootstrap` and `tide reconcile` would, from their own process.
    await inOtherProcess(dir, [
      { put: ks('app-new'), value: kustomization(ks('app-new'), 1) },
      { put: ks('app-3'), value: kustomization(ks('app-3'), 2) },
      { delete: ks('app-5') },
    ]);
    blobs.objectReads.length = 0;
    const ran = (await runner.pass({ onlyDue: true })).map((r) => r.ref.name).sort();
    assert.deepEqual(ran, ['app-3', 'app-new'], 'the new object and the new generation are reconciled at the next tick');
    // The cache read the two changed files; each reconcile read its object once more.
    assert.deepEqual(blobs.objectReads.sort(), [store.objects.key(ks('app-3')), store.objects.key(ks('app-3')), store.objects.key(ks('app-new')), store.objects.key(ks('app-new'))].sort());
    const seen = await generations(cache);
    assert.equal(seen['flux-system/Kustomization/app-3'], 2);
    assert.equal(seen['flux-system/Kustomization/app-new'], 1);
    assert.equal(seen['flux-system/Kustomization/app-5'], undefined, 'the deleted object is gone from the list');
    assert.equal(Object.keys(seen).length, 20);
  });

  it('two writes to one file in quick succession, each list between them or after both', async () => {
    const { other, cache } = await setup();
    for (let i = 0; i < 5; i++) await other.objects.put(ks(`app-${i}`), kustomization(ks(`app-${i}`), 1));
    const ref = ks('app-2');
    // Same size every time (1..9), the same directory, well within one tick of a coarse file-system clock.
    for (let g = 1; g <= 9; g++) {
      await other.objects.put(ref, kustomization(ref, g));
      assert.equal((await generations(cache))['flux-system/Kustomization/app-2'], g, `generation ${g}, read right after its write`);
    }
    for (let g = 2; g <= 9; g += 2) {
      await other.objects.put(ref, kustomization(ref, g - 1));
      await other.objects.put(ref, kustomization(ref, g));
      assert.equal((await generations(cache))['flux-system/Kustomization/app-2'], g, `generation ${g}, the second of two writes`);
    }
    // A deletion right after a write, and the same name written again.
    await other.objects.delete(ref);
    assert.equal((await generations(cache))['flux-system/Kustomization/app-2'], undefined);
    await other.objects.put(ref, kustomization(ref, 7));
    assert.equal((await generations(cache))['flux-system/Kustomization/app-2'], 7);
  });

  it('after the entries settled, a same-size rewrite is still seen', async () => {
    const { other, blobs, cache } = await setup();
    const ref = ks('app');
    await other.objects.put(ref, kustomization(ref, 1));
    await other.objects.put(ks('app-b'), kustomization(ks('app-b'), 1));
    await cache.list('c1');
    await sleep(SETTLED_AFTER_MS);
    await cache.list('c1');
    blobs.objectReads.length = 0;
    assert.equal((await generations(cache))['flux-system/Kustomization/app'], 1);
    assert.deepEqual(blobs.objectReads, []);
    await other.objects.put(ref, kustomization(ref, 2));
    assert.equal((await generations(cache))['flux-system/Kustomization/app'], 2);
    assert.deepEqual(blobs.objectReads, [other.objects.key(ref)], 'only the changed file is read');
  });

  it('new and removed namespaces, kinds and clusters', async () => {
    const { dir, other, cache } = await setup();
    assert.deepEqual((await cache.list('c2')).items, [], 'a cluster with no objects yet');
    await other.objects.put(ks('a', 'flux-system', 'c2'), kustomization(ks('a', 'flux-system', 'c2'), 1));
    assert.deepEqual(await generations(cache, 'c2'), { 'flux-system/Kustomization/a': 1 });
    await other.objects.put(ks('b', 'team-a', 'c2'), kustomization(ks('b', 'team-a', 'c2'), 1));
    const repo = { cluster: 'c2', namespace: 'flux-system', kind: 'GitRepository', name: 'flux-system' };
    await other.objects.put(repo, gitRepository('flux-system'));
    assert.deepEqual(await generations(cache, 'c2'), { 'flux-system/GitRepository/flux-system': 1, 'flux-system/Kustomization/a': 1, 'team-a/Kustomization/b': 1 });
    assert.deepEqual((await cache.list('c2', { kind: 'GitRepository' })).items.map((i) => i.ref.name), ['flux-system']);
    assert.deepEqual((await cache.list('c2', { namespace: 'team-a' })).items.map((i) => i.ref.name), ['b']);
    // A namespace's directory removed whole, then the cluster's.
    await rm(join(dir, 'clusters', 'c2', 'objects', 'team-a'), { recursive: true });
    assert.deepEqual(await generations(cache, 'c2'), { 'flux-system/GitRepository/flux-system': 1, 'flux-system/Kustomization/a': 1 });
    await rm(join(dir, 'clusters', 'c2'), { recursive: true });
    assert.deepEqual(await generations(cache, 'c2'), {});
    await other.objects.put(ks('a', 'flux-system', 'c2'), kustomization(ks('a', 'flux-system', 'c2'), 3));
    assert.deepEqual(await generations(cache, 'c2'), { 'flux-system/Kustomization/a': 3 });
  });
});

describe('DirectoryRecordCache: lists as JsonRecords.list does', () => {
  it('the same items, order and corrupt records, for every filter', async () => {
    const { other, store, cache } = await setup();
    await other.objects.put(ks('z'), kustomization(ks('z'), 1));
    await other.objects.put(ks('a', 'a-b'), kustomization(ks('a', 'a-b'), 1));
    await other.objects.put(ks('a', 'a'), kustomization(ks('a', 'a'), 1));
    await other.objects.put({ cluster: 'c1', namespace: '', kind: 'Kustomization', name: 'scoped' }, kustomization(ks('scoped', ''), 1));
    await other.objects.put({ cluster: 'c1', namespace: 'flux-system', kind: 'GitRepository', name: 'flux-system' }, gitRepository('flux-system'));
    await other.blobs.put(other.objects.key(ks('broken')), new TextEncoder().encode('{"kind":'));
    await other.blobs.put('clusters/c1/objects/flux-system/Kustomization/Not_A_Name.json', new TextEncoder().encode('{}'));
    type Filter = { kind?: string; namespace?: string };
    // With a kind, the cache does not look into other kinds' directories, nor report what is wrong there.
    const shape = (r: Awaited<ReturnType<typeof cache.list>>, filter: Filter) => ({
      items: r.items.map((i) => ({ ref: i.ref, value: i.value, etag: i.etag })),
      errors: r.errors.map((e) => e.key).filter((k) => !filter.kind || k.split('/')[4] === filter.kind).sort(),
    });
    const filters: Filter[] = [{}, { kind: 'Kustomization' }, { kind: 'GitRepository' }, { kind: 'Bucket' }, { namespace: '' }, { namespace: 'a' }, { kind: 'Kustomization', namespace: 'flux-system' }];
    for (const filter of filters) {
      const want = shape(await store.objects.list('c1', filter), filter);
      assert.deepEqual(shape(await cache.list('c1', filter), filter), want, JSON.stringify(filter));
      assert.deepEqual(shape(await cache.list('c1', filter), filter), want, `${JSON.stringify(filter)}, from what it kept`);
    }
    assert.deepEqual(shape(await cache.list('c1', { kind: 'Kustomization', namespace: 'flux-system' }), {}).errors, [
      'clusters/c1/objects/flux-system/Kustomization/Not_A_Name.json',
      other.objects.key(ks('broken')),
    ].sort());
    // Fixed by a rewrite: read again.
    await other.objects.put(ks('broken'), kustomization(ks('broken'), 4));
    assert.equal((await generations(cache))['flux-system/Kustomization/broken'], 4);
  });
});
