import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { AwsClusters } from '../../aws/aws-clusters.ts';
import { EventBridgeBus } from '../../events/eventbridge-bus.ts';
import { reconcileRequest } from '../../events/requests.ts';
import { S3BlobStore } from '../../store/s3-blob-store.ts';
import { StateStore } from '../../store/state-store.ts';
import { parse, UsageError } from '../args.ts';
import { objectRef, type Fleet } from '../resolve.ts';
import { get } from './get.ts';

/** An install made by `cdk deploy`, read from its state bucket with the SDK's usual credentials. */
export function openAwsFleet(bucket: string | undefined): Fleet & { readonly store: StateStore; readonly clusters: AwsClusters; close(): void } {
  if (!bucket) throw new UsageError('say which install: --bucket <StateBucketName> (a cdk deploy output), or set TIDE_BUCKET');
  const store = new StateStore(new S3BlobStore({ client: new S3Client({ forcePathStyle: process.env.TIDE_S3_PATH_STYLE === '1' }), bucket }));
  const clusters = new AwsClusters(store.blobs, {});
  return { store, ctx: { store }, clusters, close: () => clusters.close() };
}

/** `tide aws get sources|kustomizations|receivers|all --bucket B`: the same table as `tide get`. */
export async function awsGet(args: string[]): Promise<number> {
  const options = { bucket: { type: 'string' as const } };
  const { values } = parse(args, options);
  const fleet = openAwsFleet(values.bucket ?? process.env.TIDE_BUCKET);
  try {
    return await get(fleet, args, options);
  } finally {
    fleet.close();
  }
}

/**
 * `tide aws reconcile kustomization NAME --bucket B [--cluster C]`: sends "Reconcile Requested" on
 * the bus, as a webhook would; the functions do the rest (follow it in their logs or the events).
 */
export async function awsReconcile(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { bucket: { type: 'string' }, bus: { type: 'string' } });
  const fleet = openAwsFleet(values.bucket ?? process.env.TIDE_BUCKET);
  try {
    const ref = await objectRef(fleet, positionals, values);
    const bus = new EventBridgeBus({ client: new EventBridgeClient({}), busName: values.bus ?? process.env.TIDE_EVENT_BUS ?? 'tide' });
    await bus.publish([reconcileRequest(ref, 'Requested', 'tide aws reconcile', 'cli')]);
    console.log(`► reconcile of ${ref.kind} ${ref.namespace}/${ref.name} in cluster ${ref.cluster} requested`);
    return 0;
  } finally {
    fleet.close();
  }
}
