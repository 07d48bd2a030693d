import type { BucketCredentials, BucketProvider } from '../sources/bucket/client.ts';
import { BucketSourceError } from '../sources/bucket/errors.ts';
import { BucketSource, DEFAULT_BUCKET_TIMEOUT_MS } from '../sources/bucket/fetch-bucket.ts';
import { formatRef, type ObjectRef } from '../store/refs.ts';
import type { StateStore } from '../store/state-store.ts';
import { storeArtifact } from './store-artifact.ts';
import { isReady, Reason, withReady } from './conditions.ts';
import type { Outcome, ReconcileContext } from './context.ts';
import { parseDuration, parseInterval } from './duration.ts';
import type { ArtifactStatus } from './kustomization.ts';
import { notRegistered, openSubject } from './subject.ts';

/** spec of source.toolkit.fluxcd.io/v1 Bucket, the fields Tide reads. */
export interface BucketSpec {
  bucketName: string;
  /** `host[:port]`, as in Flux. */
  endpoint?: string;
  insecure?: boolean;
  region?: string;
  prefix?: string;
  /** Default `generic`, as in Flux. */
  provider?: string;
  secretRef?: { name: string };
  ignore?: string;
  interval: string;
  timeout?: string;
  suspend?: boolean;
}

export interface BucketOptions {
  /** Largest artifact (the objects' bytes, and the packed tar.gz); default 200 MiB. */
  maxArtifactBytes?: number;
}

/** source-controller's reason for a Bucket that could not be listed or read. */

const CONTROLLER = 'source';
const PROVIDERS: readonly string[] = ['aws', 'generic'];

/**
 * Reconciles a Bucket: one listing (ListObjectsV2, paginated) to learn whether anything changed;
 * only a new revision is downloaded, packed and stored (by digest), and only then is "Source
 * Updated" sent. A failure sets Ready=False and keeps the last good artifact in use.
 *
 * The status keeps `listingDigest`, the digest of the last listing that gave the current artifact:
 * when the next listing has the same digest, the revision is the same without reading the
 * .sourceignore objects. A listing that differs only in ignored objects costs their reading and one
 * status write, and sends nothing.
 */
export async function reconcileBucket(ctx: ReconcileContext, ref: ObjectRef, options: BucketOptions = {}): Promise<Outcome> {
  const subject = await openSubject<BucketSpec>(ctx, ref, CONTROLLER);
  if (!subject) return notRegistered(ref);
  const { spec, generation, previous, now, fail } = subject;
  if (spec.suspend) return { ready: isReady(previous), message: 'suspended' };

  let interval: number;
  let timeoutMs = DEFAULT_BUCKET_TIMEOUT_MS;
  const provider = (spec.provider || 'generic') as BucketProvider;
  try {
    interval = parseInterval(spec.interval, 'spec.interval');
    if (spec.timeout) {
      timeoutMs = parseDuration(spec.timeout, 'spec.timeout');
      if (timeoutMs <= 0) throw new Error(`spec.timeout ${JSON.stringify(spec.timeout)} must be longer than 0s`);
    }
    if (!spec.bucketName) throw new Error('spec.bucketName is missing: set it to the name of the bucket');
    if (!PROVIDERS.includes(provider)) {
      throw new Error(`spec.provider ${JSON.stringify(spec.provider)} is not supported: use aws (S3 itself) or generic (any S3-compatible store; for GCS, its endpoint storage.googleapis.com with HMAC keys)`);
    }
    if (provider === 'generic' && !spec.endpoint) throw new Error('spec.endpoint is missing: set it to the store\'s host[:port], such as minio.example.com:9000');
  } catch (err) {
    return fail(Reason.InvalidSpec, `${formatRef(ref)}: ${(err as Error).message}`, { stalled: true });
  }

  let credentials: BucketCredentials | undefined;
  let secret: string | undefined;
  if (spec.secretRef?.name) {
    secret = `${ref.namespace}/${spec.secretRef.name}`;
    const data = await ctx.secrets.get({ cluster: ref.cluster, namespace: ref.namespace, kind: 'Secret', name: spec.secretRef.name }).catch((err: Error) => err);
    if (data instanceof Error || !data) {
      return fail(Reason.AuthenticationFailed, `${formatRef(ref)}: secret ${secret} ${data instanceof Error ? `could not be read: ${data.message}` : 'not found'}: create it in Tide's secret store or the cluster`, { retryMs: interval });
    }
    // Flux's Bucket secret keys, for both providers.
    if (!data.accesskey || !data.secretkey) {
      return fail(Reason.AuthenticationFailed, `${formatRef(ref)}: secret ${secret} has no ${!data.accesskey ? 'accesskey' : 'secretkey'}: put the access key id in accesskey and the secret access key in secretkey`, { retryMs: interval });
    }
    credentials = { accessKeyId: data.accesskey, secretAccessKey: data.secretkey };
  }

  const current = previous?.artifact as ArtifactStatus | undefined;
  const source = new BucketSource({
    subject: formatRef(ref),
    bucketName: spec.bucketName,
    endpoint: spec.endpoint,
    insecure: spec.insecure,
    region: spec.region,
    provider,
    credentials,
    prefix: spec.prefix,
    ignore: spec.ignore,
    timeoutMs,
    ...(secret ? { secret } : {}),
    ...(options.maxArtifactBytes !== undefined ? { maxArtifactBytes: options.maxArtifactBytes } : {}),
  });
  try {
    const listing = await source.list();
    const stored = async () => current !== undefined && (await ctx.store.artifacts.has(ref, current.digest));
    const unchanged = async (revision: string): Promise<Outcome> => {
      // Nothing downloaded, stored or sent; the status is written only when recovering, or to
      // remember a listing that changed only in ignored objects.
      if (!isReady(previous) || previous?.observedGeneration !== generation || previous?.listingDigest !== listing.digest) {
        await ctx.store.status.update(ref, (cur) => withReady(cur, 'True', Reason.ArtifactInStorage, `stored artifact for revision '${revision}'`, now(), { generation, listingDigest: listing.digest }), { replaceCorrupt: true });
      }
      return { ready: true, message: 'unchanged', revision, requeueAfterMs: interval };
    };
    if (current && previous?.listingDigest === listing.digest && (await stored())) return await unchanged(current.revision);

    const index = await source.index(listing);
    if (current && current.revision === index.revision && (await stored())) return await unchanged(current.revision);

    const fetched = await source.fetch(index);
    const message = await storeArtifact(ctx, ref, subject, fetched, { extraStatus: { listingDigest: listing.digest }, logFields: { files: fetched.files, bytes: fetched.bytes } });
    return { ready: true, message, revision: fetched.revision, requeueAfterMs: interval };
  } catch (err) {
    const kept = current ? ` (still serving revision ${current.revision})` : '';
    if (!(err instanceof BucketSourceError)) {
      // The bucket was read; storing its artifact failed.
      return fail(Reason.StorageOperationFailed, `${formatRef(ref)}: storing the artifact failed: ${(err as Error).message}${kept}`, { retryMs: interval });
    }
    const reason = err.reason === 'AuthenticationFailed' ? Reason.AuthenticationFailed : Reason.BucketOperationFailed;
    return fail(reason, `${err.message}${kept}`, { retryMs: interval });
  } finally {
    source.close();
  }
}

/**
 * Every registered Bucket, on any cluster, whose spec.bucketName is `bucketName`: an S3 event
 * from a user's bucket starts the fetch of each. Suspended ones are included (their reconcile
 * says so); records that cannot be read are left out.
 */
export async function bucketSourcesWatching(store: StateStore, bucketName: string): Promise<ObjectRef[]> {
  const refs: ObjectRef[] = [];
  for (const cluster of await store.clusters()) {
    const { items } = await store.objects.list(cluster, { kind: 'Bucket' });
    for (const item of items) {
      if ((item.value.spec as { bucketName?: unknown } | undefined)?.bucketName === bucketName) refs.push(item.ref);
    }
  }
  return refs;
}
