import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MemoryEventBus, type DeliveredEvent } from '../../shared/events/memory-bus.ts';
import { Logger } from '../../shared/log.ts';
import { bucketSourcesWatching, reconcileBucket, type BucketOptions } from '../../shared/reconcile/bucket.ts';
import type { ReconcileContext } from '../../shared/reconcile/context.ts';
import type { ArtifactStatus } from '../../shared/reconcile/kustomization.ts';
import { DirectoryBlobStore } from '../../shared/store/dir-blob-store.ts';
import type { ObjectRef } from '../../shared/store/refs.ts';
import { StateStore } from '../../shared/store/state-store.ts';
import type { ObjectStatus } from '../../shared/store/types.ts';
import { startMoto, type Moto } from '../rig/moto.ts';
import { readTarball } from './git-fixtures.ts';

// Bucket sources against moto's S3: a bucket of YAML under a prefix, reconciled the way the
// `source` function does it (a StateStore on a directory, an in-process bus).
let moto: Moto;
let s3: S3Client;
let state: string;
let store: StateStore;
let bus: MemoryEventBus;
let ctx: ReconcileContext;
const events: DeliveredEvent[] = [];
const logLines: string[] = [];
const secrets: Record<string, Record<string, string>> = {
  'moto-keys': { accesskey: 'testing', secretkey: 'testing' },
  'wrong-keys': { accesskey: 'AKIDNOTAREALKEY00000', secretkey: 'not-the-secret-key' },
};

before(async () => {
  moto = await startMoto();
  s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true });
  state = await mkdtemp(join(tmpdir(), 'tide-bucket-'));
  store = new StateStore(new DirectoryBlobStore(state));
  bus = new MemoryEventBus();
  bus.subscribe({}, (e) => void events.push(e));
  ctx = {
    store,
    bus,
    cluster: async (name) => {
      throw new Error(`no cluster ${name} in this test`);
    },
    secrets: { get: async (ref) => secrets[ref.name] },
    log: new Logger({ write: (line) => void logLines.push(line) }),
  };
});
after(async () => {
  s3?.destroy();
  await moto?.stop();
  if (state) await rm(state, { recursive: true, force: true });
});

const created = new Set<string>();
/** Puts (or, for null, deletes) objects in a bucket, creating it first. */
async function seed(bucket: string, files: Record<string, string | null>): Promise<void> {
  if (!created.has(bucket)) {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    created.add(bucket);
  }
  for (const [key, body] of Object.entries(files)) {
    if (body === null) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    else await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  }
}

const refOf = (name: string, cluster = 'dev'): ObjectRef => ({ cluster, namespace: 'flux-system', kind: 'Bucket', name });
const generations = new Map<string, number>();

/** Registers a Bucket reading moto through the generic provider with moto's keys; `spec` overrides. */
async function register(name: string, spec: Record<string, unknown>, cluster = 'dev'): Promise<ObjectRef> {
  const ref = refOf(name, cluster);
  const generation = (generations.get(`${cluster}/${name}`) ?? 0) + 1;
  generations.set(`${cluster}/${name}`, generation);
  await store.objects.put(ref, {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'Bucket',
    metadata: { name, namespace: 'flux-system', generation },
    spec: {
      interval: '5m',
      provider: 'generic',
      endpoint: new URL(moto.endpoint).host,
      insecure: true,
      secretRef: { name: 'moto-keys' },
      ...spec,
    },
  });
  return ref;
}

const reconcile = (ref: ObjectRef, options?: BucketOptions) => reconcileBucket(ctx, ref, options);
const statusOf = async (ref: ObjectRef): Promise<ObjectStatus | undefined> => (await store.status.get(ref))?.value;
const ready = (st: ObjectStatus | undefined) => st?.conditions.find((c) => c.type === 'Ready');
const artifactOf = async (ref: ObjectRef) => (await statusOf(ref))?.artifact as ArtifactStatus | undefined;

/** The stored artifact's files and their contents. */
async function artifactFiles(ref: ObjectRef): Promise<Map<string, string>> {
  const artifact = await artifactOf(ref);
  assert.ok(artifact, 'an artifact in the status');
  const bytes = await store.artifacts.get(ref, artifact.digest);
  assert.ok(bytes, 'the artifact is stored');
  const entries = await readTarball(bytes);
  return new Map([...entries].map(([path, e]) => [path, e.content]));
}

/** Events sent about one object so far. */
async function eventsFor(ref: ObjectRef): Promise<DeliveredEvent[]> {
  await bus.idle();
  return events.filter((e) => e.detail.cluster === ref.cluster && e.detail.involvedObject.name === ref.name);
}

/** Flux's revision of these keys as S3 lists them: sha256 of the sorted `<key> <etag>\n` lines. */
async function fluxRevision(bucket: string, prefix: string, keys: string[]): Promise<string> {
  const listed = (await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? [];
  const h = createHash('sha256');
  for (const key of [...keys].sort()) {
    const etag = listed.find((o) => o.Key === key)?.ETag?.replaceAll('"', '');
    assert.ok(etag, `${key} is in the bucket`);
    h.update(`${key} ${etag}\n`);
  }
  return `sha256:${h.digest('hex')}`;
}

const FLEET = {
  'deploy/apps/app.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {version: "1"}\n',
  'deploy/apps/kustomization.yaml': 'resources: [app.yaml]\n',
  'deploy/infra/namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n',
  'deploy/': '',
  'other/outside.yaml': 'kind: NotUnderThePrefix\n',
};
const FLEET_KEYS = ['deploy/apps/app.yaml', 'deploy/apps/kustomization.yaml', 'deploy/infra/namespace.yaml'];

describe('a Bucket source (moto S3)', () => {
  it('the first fetch stores an artifact of exactly the objects under the prefix, at Flux\'s revision', async () => {
    await seed('tide-fleet', FLEET);
    const ref = await register('fleet', { bucketName: 'tide-fleet', prefix: 'deploy/' });
    const outcome = await reconcile(ref);
    assert.equal(outcome.ready, true, outcome.message);
    assert.equal(outcome.revision, await fluxRevision('tide-fleet', 'deploy/', FLEET_KEYS));
    assert.equal(outcome.requeueAfterMs, 5 * 60_000);

    const files = await artifactFiles(ref);
    assert.deepEqual([...files.keys()].sort(), FLEET_KEYS);
    assert.equal(files.get('deploy/apps/app.yaml'), FLEET['deploy/apps/app.yaml']);

    const st = await statusOf(ref);
    assert.equal(ready(st)?.status, 'True');
    assert.equal(ready(st)?.reason, 'Succeeded');
    const artifact = await artifactOf(ref);
    assert.equal(artifact?.revision, outcome.revision);
    assert.match(artifact?.digest ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.ok(artifact?.size && artifact.lastUpdateTime);
    assert.deepEqual(await store.artifacts.list(ref), [artifact?.digest]);

    const sent = await eventsFor(ref);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.detailType, 'Source Updated');
    assert.equal(sent[0]?.detail.revision, outcome.revision);
  });

  it('an unchanged bucket keeps its revision and stores, writes and sends nothing', async () => {
    const ref = refOf('fleet');
    const before = await store.status.get(ref);
    const artifactsBefore = await store.artifacts.list(ref);
    const eventsBefore = (await eventsFor(ref)).length;

    const outcome = await reconcile(ref);
    assert.equal(outcome.ready, true);
    assert.equal(outcome.message, 'unchanged');
    assert.equal(outcome.revision, (before?.value.artifact as ArtifactStatus).revision);

    const afterwards = await store.status.get(ref);
    assert.equal(afterwards?.etag, before?.etag, 'the status was not written');
    assert.equal((afterwards?.value.artifact as ArtifactStatus).lastUpdateTime, (before?.value.artifact as ArtifactStatus).lastUpdateTime);
    assert.deepEqual(await store.artifacts.list(ref), artifactsBefore);
    assert.equal((await eventsFor(ref)).length, eventsBefore, 'no event');
  });

  it('a changed object gives a new revision and a Source Updated event; only the last two artifacts are kept', async () => {
    const ref = refOf('fleet');
    const first = await artifactOf(ref);
    const v2 = FLEET['deploy/apps/app.yaml'].replace('"1"', '"2"');
    await seed('tide-fleet', { 'deploy/apps/app.yaml': v2 });
    const outcome = await reconcile(ref);
    assert.equal(outcome.ready, true, outcome.message);
    assert.notEqual(outcome.revision, first?.revision);
    assert.equal(outcome.revision, await fluxRevision('tide-fleet', 'deploy/', FLEET_KEYS));
    assert.equal((await artifactFiles(ref)).get('deploy/apps/app.yaml'), v2);
    const updated = (await eventsFor(ref)).filter((e) => e.detailType === 'Source Updated');
    assert.equal(updated.length, 2);
    assert.equal(updated[1]?.detail.revision, outcome.revision);

    await seed('tide-fleet', { 'deploy/infra/namespace.yaml': null });
    const third = await reconcile(ref);
    assert.equal(third.ready, true, third.message);
    assert.deepEqual([...(await artifactFiles(ref)).keys()].sort(), ['deploy/apps/app.yaml', 'deploy/apps/kustomization.yaml']);
    const kept = await store.artifacts.list(ref);
    assert.equal(kept.length, 2, 'the current and the previous artifact');
    assert.ok(!kept.includes(first!.digest), 'the first artifact was collected');
  });

  it('ignore rules drop objects: the root .sourceignore, the prefix\'s, and spec.ignore', async () => {
    await seed('tide-ignore', {
      '.sourceignore': '# the bucket root\nsecret/\n',
      'deploy/.sourceignore': '/local.yaml\n',
      'deploy/app.yaml': 'kind: App\n',
      'deploy/README.md': '# notes\n',
      'deploy/local.yaml': 'kind: Local\n',
      'deploy/nested/local.yaml': 'kind: NestedLocal\n',
      'deploy/secret/key.yaml': 'kind: Secret\n',
    });
    const ref = await register('ignoring', { bucketName: 'tide-ignore', prefix: 'deploy/', ignore: '*.md\n' });
    const outcome = await reconcile(ref);
    assert.equal(outcome.ready, true, outcome.message);
    assert.deepEqual([...(await artifactFiles(ref)).keys()].sort(), ['deploy/app.yaml', 'deploy/nested/local.yaml']);
    assert.equal(outcome.revision, await fluxRevision('tide-ignore', 'deploy/', ['deploy/app.yaml', 'deploy/nested/local.yaml']));

    // A change to an ignored object: the same revision, nothing stored or sent.
    const statusBefore = await store.status.get(ref);
    const eventsBefore = (await eventsFor(ref)).length;
    await seed('tide-ignore', { 'deploy/README.md': '# more notes\n' });
    const same = await reconcile(ref);
    assert.equal(same.message, 'unchanged');
    assert.equal(same.revision, outcome.revision);
    assert.equal((await artifactOf(ref))?.lastUpdateTime, (statusBefore?.value.artifact as ArtifactStatus).lastUpdateTime);
    assert.equal((await store.artifacts.list(ref)).length, 1);
    assert.equal((await eventsFor(ref)).length, eventsBefore);
    // ... and the next poll is back to one listing with no status write.
    const remembered = await store.status.get(ref);
    assert.equal((await reconcile(ref)).message, 'unchanged');
    assert.equal((await store.status.get(ref))?.etag, remembered?.etag);

    // The root .sourceignore (outside the prefix) changed: secret/ is no longer ignored.
    await seed('tide-ignore', { '.sourceignore': '# the bucket root\n' });
    const changed = await reconcile(ref);
    assert.equal(changed.ready, true, changed.message);
    assert.notEqual(changed.revision, outcome.revision);
    assert.deepEqual([...(await artifactFiles(ref)).keys()].sort(), ['deploy/app.yaml', 'deploy/nested/local.yaml', 'deploy/secret/key.yaml']);
  });

  it('a missing bucket is Ready=False naming the object and the bucket', async () => {
    const ref = await register('missing', { bucketName: 'no-such-bucket-here' });
    const outcome = await reconcile(ref);
    assert.equal(outcome.ready, false);
    assert.match(outcome.message, /^dev\/flux-system\/Bucket\/missing: bucket 'no-such-bucket-here' not found at http:\/\/127\.0\.0\.1:\d+: create it, or fix spec\.bucketName/);
    assert.equal(outcome.requeueAfterMs, 5 * 60_000);
    const st = await statusOf(ref);
    assert.equal(ready(st)?.status, 'False');
    assert.equal(ready(st)?.reason, 'BucketOperationFailed');
    const failed = await eventsFor(ref);
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.detailType, 'Reconcile Failed');
  });

  it('wrong credentials are AuthenticationFailed, naming the secret', async () => {
    await seed('tide-private', { 'app.yaml': 'kind: App\n' });
    const ref = await register('private', { bucketName: 'tide-private', secretRef: { name: 'wrong-keys' } });
    // moto checks signatures only once told to; it knows no access key, so every key is wrong.
    await fetch(`${moto.endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' });
    let outcome;
    try {
      outcome = await reconcile(ref);
    } finally {
      await fetch(`${moto.endpoint}/moto-api/reset-auth`, { method: 'POST', body: 'inf' });
    }
    assert.equal(outcome.ready, false);
    assert.match(outcome.message, /^dev\/flux-system\/Bucket\/private: access to bucket 'tide-private' at http:\/\/127\.0\.0\.1:\d+ was refused \(InvalidAccessKeyId\): check accesskey and secretkey in secret flux-system\/wrong-keys/);
    assert.equal(ready(await statusOf(ref))?.reason, 'AuthenticationFailed');
    assert.ok(!outcome.message.includes('not-the-secret-key'));
    assert.ok(!logLines.some((l) => l.includes('not-the-secret-key')), 'the secret key is never logged');
  });

  it('a key with .. segments is refused, and the last good artifact stays in use', async () => {
    await seed('tide-unsafe', { 'deploy/app.yaml': 'kind: App\n' });
    const ref = await register('unsafe', { bucketName: 'tide-unsafe', prefix: 'deploy/' });
    const good = await reconcile(ref);
    assert.equal(good.ready, true, good.message);
    const artifact = await artifactOf(ref);

    await seed('tide-unsafe', { 'deploy/../../etc/evil.yaml': 'kind: Evil\n' });
    const outcome = await reconcile(ref);
    assert.equal(outcome.ready, false);
    assert.match(outcome.message, /^dev\/flux-system\/Bucket\/unsafe: bucket 'tide-unsafe' holds object keys Tide refuses to unpack: 'deploy\/\.\.\/\.\.\/etc\/evil\.yaml' has a '\.\.' segment \(escapes the tree\): rename or delete those objects/);
    assert.match(outcome.message, new RegExp(`still serving revision ${good.revision}`));
    assert.deepEqual(await artifactOf(ref), artifact);
    assert.ok(await store.artifacts.has(ref, artifact!.digest));

    // Removing the object recovers, without a new artifact.
    await seed('tide-unsafe', { 'deploy/../../etc/evil.yaml': null });
    const recovered = await reconcile(ref);
    assert.equal(recovered.ready, true, recovered.message);
    assert.equal(recovered.revision, good.revision);
    assert.equal(ready(await statusOf(ref))?.status, 'True');
  });

  it('an artifact over the size limit is refused before anything is downloaded', async () => {
    const ref = await register('too-large', { bucketName: 'tide-fleet', prefix: 'deploy/' });
    const outcome = await reconcile(ref, { maxArtifactBytes: 64 });
    assert.equal(outcome.ready, false);
    assert.match(outcome.message, /^dev\/flux-system\/Bucket\/too-large: the artifact of bucket 'tide-fleet' for sha256:[0-9a-f]{64} is too large: its 2 objects hold \d+ bytes, over the limit of 64 bytes: add ignore rules/);
    assert.deepEqual(await store.artifacts.list(ref), []);
  });

  it('an invalid interval is Stalled, not retried until the spec changes', async () => {
    const ref = await register('bad-interval', { bucketName: 'tide-fleet', interval: 'soon' });
    const outcome = await reconcile(ref);
    assert.equal(outcome.ready, false);
    assert.equal(outcome.requeueAfterMs, undefined);
    assert.match(outcome.message, /^dev\/flux-system\/Bucket\/bad-interval: spec\.interval "soon" is not a duration/);
    assert.equal((await statusOf(ref))?.conditions.find((c) => c.type === 'Stalled')?.status, 'True');
  });

  it('provider aws without secretRef uses the SDK\'s default credentials', async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, key: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'testing';
    process.env.AWS_SECRET_ACCESS_KEY = 'testing';
    try {
      const ref = await register('role', { bucketName: 'tide-fleet', prefix: 'deploy/', provider: 'aws', secretRef: undefined, region: moto.region });
      const outcome = await reconcile(ref);
      assert.equal(outcome.ready, true, outcome.message);
      assert.equal(outcome.revision, (await artifactOf(refOf('fleet')))?.revision, 'the same objects, the same revision');
    } finally {
      for (const [k, v] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.key]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('bucketSourcesWatching finds every Bucket of that bucket name, on every cluster', async () => {
    await register('watch-a', { bucketName: 'tide-watched' });
    await register('watch-b', { bucketName: 'tide-watched' }, 'prod');
    await register('watch-other', { bucketName: 'tide-elsewhere' }, 'prod');
    const found = await bucketSourcesWatching(store, 'tide-watched');
    const names = found.map((r) => `${r.cluster}/${r.namespace}/${r.kind}/${r.name}`).sort();
    assert.deepEqual(names, ['dev/flux-system/Bucket/watch-a', 'prod/flux-system/Bucket/watch-b']);
    assert.deepEqual(await bucketSourcesWatching(store, 'tide-nobody-reads-this'), []);
  });
});
