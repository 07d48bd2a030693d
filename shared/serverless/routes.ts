import { DetailType, EVENT_SOURCE } from '../events/event.ts';
import { RECONCILED_KINDS, SOURCE_KINDS } from '../reconcile/schedule.ts';
import { POINTER_SUFFIX } from '../store/artifacts.ts';

/**
 * The EventBridge rules between Tide's functions, as event patterns. The CDK stack deploys
 * exactly these, and the end-to-end tests put the same ones into moto, so what is tested is
 * what is deployed (functions/README.md describes them).
 */
const SOURCE_KINDS_ROUTED: string[] = [...SOURCE_KINDS];
const RECONCILE_KINDS_ROUTED: string[] = RECONCILED_KINDS.filter((k) => !SOURCE_KINDS_ROUTED.includes(k));

/** On the tide bus: requests for sources, to the `source` queue. */
export const sourceRequests = {
  source: [EVENT_SOURCE],
  'detail-type': [DetailType.ReconcileRequested],
  detail: { involvedObject: { kind: SOURCE_KINDS_ROUTED } },
};

/** On the tide bus: requests for Kustomizations and Receivers, to the `reconcile` queue. */
export const reconcileRequests = {
  source: [EVENT_SOURCE],
  'detail-type': [DetailType.ReconcileRequested],
  detail: { involvedObject: { kind: RECONCILE_KINDS_ROUTED } },
};

/** On the default bus: a new artifact pointer in the state bucket, to the `reconcile` queue. */
export function artifactPointers(stateBucket: string) {
  return {
    source: ['aws.s3'],
    'detail-type': ['Object Created'],
    detail: { bucket: { name: [stateBucket] }, object: { key: [{ suffix: POINTER_SUFFIX }] } },
  };
}

/** On the default bus: objects written to or deleted from users' buckets (Bucket sources), to the `source` queue. */
export function userBucketChanges(buckets: readonly string[]) {
  return {
    source: ['aws.s3'],
    'detail-type': ['Object Created', 'Object Deleted'],
    detail: { bucket: { name: [...buckets] } },
  };
}
