import { KubectlV35Layer } from '@aws-cdk/lambda-layer-kubectl-v35';
import { CfnOutput, Duration, Stack, Token, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { TideEventBus, type TideEventBusProps } from './constructs/event-bus.ts';
import { KustomizeLayer } from './constructs/kustomize-layer.ts';
import { Receiver } from './constructs/receiver.ts';
import { checkBucketNames, Routes } from './constructs/routes.ts';
import { Scheduler } from './constructs/scheduler.ts';
import { StateBucket, type StateBucketProps } from './constructs/state-bucket.ts';
import { checkSecretsPrefix, TideFunction, type TideFunctionOptions } from './constructs/tide-function.ts';
import { WorkQueue } from './constructs/work-queue.ts';

/** Tide's four functions, by their folder under `functions/`. */
export type TideFunctionName = 'receiver' | 'scheduler' | 'source' | 'reconcile';

export interface TideStackProps extends StackProps {
  /** @default StateBucket's defaults */
  readonly state?: StateBucketProps;
  /** @default TideEventBus's defaults */
  readonly bus?: TideEventBusProps;
  /**
   * Per function: its entry, memory, timeout, log retention, extra environment.
   * @default - `functions/<name>/handler.ts`; 1024 MB (reconcile 1769 MB, one full vCPU);
   * timeouts receiver 15 s, scheduler 1 min, source and reconcile 5 min; logs kept a month
   */
  readonly functions?: Partial<Record<TideFunctionName, TideFunctionOptions>>;
  /**
   * Names of your own buckets read by Bucket sources: the source function may read them, and
   * their object events request a fetch once you turn on their EventBridge notifications
   * (see RoutesProps.sourceBuckets).
   * @default []
   */
  readonly sourceBuckets?: string[];
  /**
   * IAM roles the reconcile function may assume to reach clusters (EKS access entries or
   * aws-auth map them to Kubernetes RBAC); each must trust the reconcile function's role (the
   * `ReconcileRoleArn` output). An empty list grants none (kubeconfigs in Secrets Manager only).
   * @default ['arn:<partition>:iam::<account>:role/tide-*'] - roles of this account named tide-*
   */
  readonly clusterRoleArns?: string[];
  /**
   * EKS clusters the reconcile function may describe (endpoint and CA of a cluster named by
   * name or ARN).
   * @default ['arn:<partition>:eks:*:<account>:cluster/*'] - every cluster of this account
   */
  readonly eksClusterArns?: string[];
  /**
   * Secrets Manager name prefix of Tide's secrets (`<prefix><cluster>/<namespace>/<name>`):
   * receiver, source and reconcile may read secrets under it, and nothing else.
   * @default 'tide/'
   */
  readonly secretsPrefix?: string;
  /**
   * How often the scheduler runs.
   * @default Duration.minutes(1)
   */
  readonly scheduleRate?: Duration;
  /**
   * Concurrent executions reserved for (and limited to) the public receiver (see
   * ReceiverProps.reservedConcurrency: the account's quota must leave 100 unreserved).
   * @default 10
   */
  readonly receiverReservedConcurrency?: number;
  /**
   * At most this many reconciles run at once (the reconcile queue's event source maximum
   * concurrency): a burst of requests (a push to a repo every cluster follows) then queues up
   * instead of taking the account's Lambda concurrency and every apiserver's attention at once.
   * @default 20
   */
  readonly reconcileConcurrency?: number;
}

/**
 * One Tide install: the state bucket, the `tide` bus, the receiver (Function URL), the scheduler
 * (a rule every minute), the source and reconcile functions on their queues with the
 * kubectl/helm layer, the rules between them, and an alarm on each function's errors and each
 * dead-letter queue. Outputs the bucket, the bus, the receiver's URL and the reconcile role (for
 * the cluster roles' trust policies).
 */
export class TideStack extends Stack {
  readonly state: StateBucket;
  readonly bus: TideEventBus;
  readonly receiver: Receiver;
  readonly scheduler: Scheduler;
  readonly source: TideFunction;
  readonly sourceQueue: WorkQueue;
  readonly reconcile: TideFunction;
  readonly reconcileQueue: WorkQueue;
  readonly routes: Routes;

  constructor(scope: Construct, id: string, props: TideStackProps = {}) {
    super(scope, id, props);
    const fns = props.functions ?? {};
    const secretsPrefix = props.secretsPrefix ?? 'tide/';
    checkSecretsPrefix(`TideStack ${id}`, secretsPrefix);
    const sourceBuckets = props.sourceBuckets ?? [];
    checkBucketNames(`TideStack ${id}`, sourceBuckets);
    const clusterRoleArns = props.clusterRoleArns
      ?? [this.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: 'tide-*' })];
    checkArns(`TideStack ${id}`, 'clusterRoleArns', clusterRoleArns, /^arn:[^:]+:iam::(\d{12}|\*):role\/.+$/, 'an IAM role ARN (arn:aws:iam::<account>:role/<name>)');
    const eksClusterArns = props.eksClusterArns
      ?? [this.formatArn({ service: 'eks', region: '*', resource: 'cluster', resourceName: '*' })];
    checkArns(`TideStack ${id}`, 'eksClusterArns', eksClusterArns, /^arn:[^:]+:eks:[^:]+:(\d{12}|\*):cluster\/.+$/, 'an EKS cluster ARN (arn:aws:eks:<region>:<account>:cluster/<name>)');

    // The constructs check these too; checked here so the error names the stack's prop.
    const rate = props.scheduleRate;
    if (rate && !Token.isUnresolved(rate.toSeconds()) && (rate.toSeconds() < 60 || rate.toSeconds() % 60 !== 0)) {
      throw new Error(`TideStack ${id}: scheduleRate must be whole minutes, at least 1 (got ${rate.toHumanString()})`);
    }
    const reserved = props.receiverReservedConcurrency;
    if (reserved !== undefined && (!Number.isInteger(reserved) || reserved < 1)) {
      throw new Error(`TideStack ${id}: receiverReservedConcurrency must be a whole number, at least 1 (got ${reserved})`);
    }

    this.state = new StateBucket(this, 'State', props.state);
    this.bus = new TideEventBus(this, 'Events', props.bus);
    const bucket = this.state.bucket;
    const bus = this.bus.bus;

    this.receiver = new Receiver(this, 'Receiver', {
      ...fns.receiver,
      bucket,
      bus,
      secretsPrefix,
      reservedConcurrency: reserved,
    });
    this.scheduler = new Scheduler(this, 'Scheduler', { ...fns.scheduler, bucket, bus, rate });

    // kubectl at /opt/kubectl/kubectl, helm at /opt/helm/helm: the renderers and the tests' tools.
    const kubectl = new KubectlV35Layer(this, 'KubectlLayer');

    this.source = new TideFunction(this, 'Source', {
      ...fns.source,
      name: 'source',
      description: 'Tide source: fetches a GitRepository or Bucket into the state bucket',
      timeout: fns.source?.timeout ?? Duration.minutes(5),
      bucket,
      bus,
      secretsPrefix,
      layers: [kubectl],
    });
    this.sourceQueue = new WorkQueue(this, 'SourceQueue', { consumer: this.source });
    if (sourceBuckets.length > 0) {
      const arns = sourceBuckets.map((name) => this.formatArn({ service: 's3', region: '', account: '', resource: name }));
      this.source.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: arns }));
      this.source.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: arns.map((arn) => `${arn}/*`) }));
    }

    // tide-kustomize at /opt/tide-kustomize: builds without starting kubectl each time.
    const kustomize = new KustomizeLayer(this, 'KustomizeLayer');
    this.reconcile = new TideFunction(this, 'Reconcile', {
      ...fns.reconcile,
      name: 'reconcile',
      description: 'Tide reconcile: renders a Kustomization and applies it to one cluster',
      memorySize: fns.reconcile?.memorySize ?? 1769,
      timeout: fns.reconcile?.timeout ?? Duration.minutes(5),
      bucket,
      bus,
      secretsPrefix,
      layers: [kubectl, kustomize],
    });
    this.reconcileQueue = new WorkQueue(this, 'ReconcileQueue', { consumer: this.reconcile, batchSize: 1, maxConcurrency: props.reconcileConcurrency ?? 20 });
    if (clusterRoleArns.length > 0) {
      this.reconcile.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: clusterRoleArns }));
    }
    if (eksClusterArns.length > 0) {
      this.reconcile.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['eks:DescribeCluster'], resources: eksClusterArns }));
    }

    this.routes = new Routes(this, 'Routes', {
      bus,
      stateBucket: bucket,
      sourceQueue: this.sourceQueue.queue,
      reconcileQueue: this.reconcileQueue.queue,
      sourceBuckets,
    });

    new CfnOutput(this, 'StateBucketName', { value: bucket.bucketName });
    new CfnOutput(this, 'EventBusName', { value: bus.eventBusName });
    new CfnOutput(this, 'ReconcileRoleArn', {
      value: this.reconcile.fn.role!.roleArn,
      description: 'Trust this role in each cluster role the reconcile function assumes (clusterRoleArns)',
    });
    this.receiver.urlOutput.overrideLogicalId('ReceiverUrl');
  }
}

function checkArns(who: string, prop: string, arns: readonly string[], pattern: RegExp, what: string): void {
  for (const arn of arns) {
    if (Token.isUnresolved(arn)) continue;
    if (!pattern.test(arn)) throw new Error(`${who}: ${prop} has ${JSON.stringify(arn)}, not ${what}`);
  }
}
