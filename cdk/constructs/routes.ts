import { Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

import { artifactPointers, reconcileRequests, sourceRequests, userBucketChanges } from '../../shared/serverless/routes.ts';

export interface RoutesProps {
  /** The `tide` bus, where `Reconcile Requested` is sent. */
  readonly bus: events.IEventBus;
  /** The state bucket, whose artifact pointers request the reconciles of their consumers. */
  readonly stateBucket: s3.IBucket;
  /** The source function's queue. */
  readonly sourceQueue: sqs.IQueue;
  /** The reconcile function's queue. */
  readonly reconcileQueue: sqs.IQueue;
  /**
   * Names of the users' own buckets that Bucket sources read. Their Object Created and Object
   * Deleted events request a fetch. S3 sends those to EventBridge only once the bucket's
   * EventBridge notifications are turned on (console: Properties → Amazon EventBridge; or
   * `aws s3api put-bucket-notification-configuration --bucket <name>
   * --notification-configuration '{"EventBridgeConfiguration":{}}'`); Tide does not change
   * buckets it does not own. Without them a Bucket source is still fetched on its interval.
   * @default [] (no rule)
   */
  readonly sourceBuckets?: string[];
}

/**
 * The EventBridge rules that feed the work queues (functions/README.md, "What the queues carry").
 * Each target gets the whole event envelope; CDK's SqsQueue target adds the queue policy that
 * lets EventBridge send, scoped to the rule.
 * - tide bus, `Reconcile Requested` for GitRepository/Bucket → source queue;
 * - tide bus, `Reconcile Requested` for Kustomization/Receiver → reconcile queue;
 * - default bus, S3 `Object Created` of an artifact pointer in the state bucket → reconcile queue;
 * - default bus, S3 `Object Created`/`Object Deleted` in a source bucket → source queue.
 */
export class Routes extends Construct {
  readonly sourceRequests: events.Rule;
  readonly reconcileRequests: events.Rule;
  readonly artifactWritten: events.Rule;
  /** Undefined when `sourceBuckets` is empty. */
  readonly sourceBucketChanged?: events.Rule;

  constructor(scope: Construct, id: string, props: RoutesProps) {
    super(scope, id);
    const sourceBuckets = props.sourceBuckets ?? [];
    checkBucketNames(`Routes ${id}`, sourceBuckets, props.stateBucket);

    this.sourceRequests = new events.Rule(this, 'SourceRequests', {
      description: 'Tide: reconcile requests for sources go to the source queue',
      eventBus: props.bus,
      eventPattern: cdkPattern(sourceRequests),
      targets: [new targets.SqsQueue(props.sourceQueue)],
    });
    this.reconcileRequests = new events.Rule(this, 'ReconcileRequests', {
      description: 'Tide: reconcile requests for Kustomizations and Receivers go to the reconcile queue',
      eventBus: props.bus,
      eventPattern: cdkPattern(reconcileRequests),
      targets: [new targets.SqsQueue(props.reconcileQueue)],
    });
    this.artifactWritten = new events.Rule(this, 'ArtifactWritten', {
      description: 'Tide: a new artifact pointer in the state bucket requests the reconcile of its consumers',
      eventPattern: cdkPattern(artifactPointers(props.stateBucket.bucketName)),
      targets: [new targets.SqsQueue(props.reconcileQueue)],
    });
    if (sourceBuckets.length > 0) {
      this.sourceBucketChanged = new events.Rule(this, 'SourceBucketChanged', {
        description: 'Tide: a change in a Bucket source\'s bucket requests a fetch',
        eventPattern: cdkPattern(userBucketChanges(sourceBuckets)),
        targets: [new targets.SqsQueue(props.sourceQueue)],
      });
    }
  }
}

/** The patterns are written once, in EventBridge's own spelling, in shared/serverless/routes.ts (the end-to-end tests put the same ones into moto). */
function cdkPattern(p: { source: string[]; 'detail-type': string[]; detail: Record<string, unknown> }): events.EventPattern {
  return { source: p.source, detailType: p['detail-type'], detail: p.detail };
}

export function checkBucketNames(who: string, names: readonly string[], stateBucket?: s3.IBucket): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (Token.isUnresolved(name)) continue;
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) || name.includes('..')) {
      throw new Error(`${who}: sourceBuckets has ${JSON.stringify(name)}, not an S3 bucket name (3-63 of lowercase letters, digits, "." and "-")`);
    }
    if (seen.has(name)) throw new Error(`${who}: sourceBuckets names ${JSON.stringify(name)} twice`);
    seen.add(name);
    if (stateBucket && !Token.isUnresolved(stateBucket.bucketName) && stateBucket.bucketName === name) {
      throw new Error(`${who}: sourceBuckets must not name the state bucket ${JSON.stringify(name)}`);
    }
  }
}
