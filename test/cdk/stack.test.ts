import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { before, describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { App, AssetStaging, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { TideEventBus } from '../../cdk/constructs/event-bus.ts';
import { StateBucket } from '../../cdk/constructs/state-bucket.ts';
import { TideStack, type TideFunctionName, type TideStackProps } from '../../cdk/tide-stack.ts';
import { actionsOf, FIXTURE_HANDLER, granting, logicalId, stagedBundle, statementsOf } from './fixtures/given.ts';

describe('cdk: StateBucket', () => {
  it('is versioned, encrypted, private, TLS-only, with old versions expiring', () => {
    // GIVEN
    const stack = new Stack(new App(), 'Test');
    // WHEN
    new StateBucket(stack, 'State', { noncurrentVersionExpirationDays: 14 });
    // THEN
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 14 }, Status: 'Enabled' })]) },
    });
    // Object writes reach EventBridge (the S3-event path of DESIGN.md), set by CDK's notifications resource.
    t.hasResourceProperties('Custom::S3BucketNotifications', { NotificationConfiguration: { EventBridgeConfiguration: {} } });
    t.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('names the prop to change when it is impossible', () => {
    const stack = new Stack(new App(), 'Test');
    assert.throws(() => new StateBucket(stack, 'State', { noncurrentVersionExpirationDays: 0 }), /StateBucket State: noncurrentVersionExpirationDays must be/);
  });
});

describe('cdk: TideEventBus', () => {
  it('creates the tide bus with an archive of Tide events', () => {
    const stack = new Stack(new App(), 'Test');
    new TideEventBus(stack, 'Events');
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Events::EventBus', { Name: 'tide' });
    t.hasResourceProperties('AWS::Events::Archive', { EventPattern: { source: ['tide'] }, RetentionDays: 7 });
  });

  it('keeps no archive when told, and refuses the default bus', () => {
    const stack = new Stack(new App(), 'Test');
    new TideEventBus(stack, 'Events', { eventBusName: 'tide-prod', archiveRetentionDays: 0 });
    Template.fromStack(stack).resourceCountIs('AWS::Events::Archive', 0);
    assert.throws(() => new TideEventBus(stack, 'Default', { eventBusName: 'default' }), /eventBusName "default" must be/);
  });
});

const NAMES: TideFunctionName[] = ['receiver', 'scheduler', 'source', 'reconcile'];

/** A TideStack whose four functions bundle the fixture handler, not functions/*\/handler.ts. */
function fixtureStack(props: TideStackProps = {}): TideStack {
  const functions = Object.fromEntries(NAMES.map((name) => [name, { entry: FIXTURE_HANDLER, ...props.functions?.[name] }]));
  return new TideStack(new App(), 'Tide', { ...props, functions });
}

const arn = (...parts: unknown[]) => ({ 'Fn::Join': ['', parts] });
const partition = { Ref: 'AWS::Partition' };
const account = { Ref: 'AWS::AccountId' };

describe('cdk: TideStack', () => {
  let stack: TideStack;
  let t: Template;
  before(() => {
    // GIVEN the defaults, WHEN synthesized
    stack = fixtureStack();
    t = Template.fromStack(stack);
  });

  it('outputs the bucket and bus names, the receiver URL and the reconcile role', () => {
    t.resourceCountIs('AWS::S3::Bucket', 1);
    t.resourceCountIs('AWS::Events::EventBus', 1);
    t.hasOutput('StateBucketName', { Value: { Ref: logicalId(stack.state.bucket) } });
    t.hasOutput('EventBusName', { Value: { Ref: logicalId(stack.bus.bus) } });
    t.hasOutput('ReceiverUrl', { Value: { 'Fn::GetAtt': [logicalId(stack.receiver.url), 'FunctionUrl'] } });
    t.hasOutput('ReconcileRoleArn', { Value: { 'Fn::GetAtt': [logicalId(stack.reconcile.fn.role!), 'Arn'] } });
    t.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' });
  });

  it('runs four Node.js 22 arm64 functions, reconcile on one full vCPU', () => {
    const fns = t.findResources('AWS::Lambda::Function', { Properties: { Runtime: 'nodejs22.x', Architectures: ['arm64'] } });
    const ours = [stack.receiver.function, stack.scheduler.function, stack.source, stack.reconcile].map((f) => logicalId(f.fn));
    assert.deepEqual(ours.filter((id) => !(id in fns)), []);
    const props = (id: string) => fns[id]!.Properties;
    assert.deepEqual(ours.map((id) => [props(id).MemorySize, props(id).Timeout]), [[1024, 15], [1024, 60], [1024, 300], [1769, 300]]);
    t.hasResourceProperties('AWS::Lambda::Function', { FunctionName: Match.absent(), ReservedConcurrentExecutions: 10, Environment: { Variables: { TIDE_MAX_WEBHOOK_BYTES: '4194304' } } });
  });

  it('gives each function the contract environment', () => {
    const env = (fn: lambda.IFunction) => t.findResources('AWS::Lambda::Function')[logicalId(fn)]!.Properties.Environment.Variables;
    const bucket = { Ref: logicalId(stack.state.bucket) };
    const bus = { Ref: logicalId(stack.bus.bus) };
    const common = { TIDE_BUCKET: bucket, TIDE_EVENT_BUS: bus, NODE_OPTIONS: '--enable-source-maps' };
    assert.deepEqual(env(stack.receiver.function.fn), { ...common, TIDE_SECRETS_PREFIX: 'tide/', TIDE_MAX_WEBHOOK_BYTES: '4194304' });
    assert.deepEqual(env(stack.scheduler.function.fn), common);
    assert.deepEqual(env(stack.source.fn), { ...common, TIDE_SECRETS_PREFIX: 'tide/', TIDE_QUEUE_URL: { Ref: logicalId(stack.sourceQueue.queue) } });
    assert.deepEqual(env(stack.reconcile.fn), { ...common, TIDE_SECRETS_PREFIX: 'tide/', TIDE_QUEUE_URL: { Ref: logicalId(stack.reconcileQueue.queue) } });
  });

  it('attaches the kubectl/helm layer to source and reconcile, and tide-kustomize to reconcile', () => {
    t.resourceCountIs('AWS::Lambda::LayerVersion', 2);
    const kustomize = logicalId(stack.node.findChild('KustomizeLayer'));
    const layer = Object.keys(t.findResources('AWS::Lambda::LayerVersion')).find((id) => id !== kustomize)!;
    const fns = t.findResources('AWS::Lambda::Function');
    const layersOf = (fn: lambda.IFunction) => fns[logicalId(fn)]!.Properties.Layers;
    assert.deepEqual(layersOf(stack.source.fn), [{ Ref: layer }]);
    assert.deepEqual(layersOf(stack.reconcile.fn), [{ Ref: layer }, { Ref: kustomize }]);
    assert.equal(layersOf(stack.receiver.function.fn), undefined);
    assert.equal(layersOf(stack.scheduler.function.fn), undefined);
  });

  it('builds tide-kustomize for arm64 Linux into the layer, where the reconcile function looks for it', async () => {
    const staging = stack.node.findChild('KustomizeLayer').node.findAll().find((c): c is AssetStaging => c instanceof AssetStaging)!;
    const bin = await readFile(join(staging.absoluteStagedPath, 'tide-kustomize', 'tide-kustomize'));
    assert.deepEqual([...bin.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], 'an ELF executable');
    assert.equal(bin.readUInt16LE(18), 183, 'e_machine EM_AARCH64');
    // And it builds: run under qemu, as Lambda would run it on arm64.
    const root = await mkdtemp(join(tmpdir(), 'tide-layer-'));
    try {
      await writeFile(join(root, 'kustomization.yaml'), 'namePrefix: p-\nresources: [cm.yaml]\n');
      await writeFile(join(root, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n');
      const { stdout } = await promisify(execFile)('bash', ['-c', `echo '${JSON.stringify({ id: 1, dir: root, root })}' | qemu-aarch64-static "$0"`, join(staging.absoluteStagedPath, 'tide-kustomize', 'tide-kustomize')], { env: {} });
      assert.deepEqual(JSON.parse(stdout), { id: 1, objects: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'p-a' } }] });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('feeds source and reconcile from queues with dead-letter queues, and alarms on errors and dead letters', () => {
    t.resourcePropertiesCountIs('AWS::Lambda::EventSourceMapping', { BatchSize: 1, FunctionResponseTypes: ['ReportBatchItemFailures'] }, 2);
    // A burst of reconcile requests queues up behind 20 at once, not the account's whole concurrency.
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', { FunctionName: { Ref: logicalId(stack.reconcile.fn) }, ScalingConfig: { MaximumConcurrency: 20 } });
    t.resourcePropertiesCountIs('AWS::SQS::Queue', { VisibilityTimeout: 1800, RedrivePolicy: { maxReceiveCount: 3 } }, 2);
    t.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Threshold: 0 }, 4);
    t.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0 }, 3);
  });

  it('ticks every minute and routes requests and artifact pointers to the queues', () => {
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
    const onBus = (kinds: string[], queue: sqs.IQueue) => t.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: logicalId(stack.bus.bus) },
      EventPattern: Match.exact({ source: ['tide'], 'detail-type': ['Reconcile Requested'], detail: { involvedObject: { kind: kinds } } }),
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(queue), 'Arn'] } })],
    });
    onBus(['GitRepository', 'Bucket'], stack.sourceQueue.queue);
    onBus(['Receiver', 'Kustomization'], stack.reconcileQueue.queue);
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.exact({
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [{ Ref: logicalId(stack.state.bucket) }] }, object: { key: [{ suffix: '.artifact.json' }] } },
      }),
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(stack.reconcileQueue.queue), 'Arn'] } })],
    });
    t.resourceCountIs('AWS::Events::Rule', 4);
  });

  it('lets reconcile assume tide-* roles of the account and describe its EKS clusters, and no one else', () => {
    const reconcile = statementsOf(t, stack.reconcile.fn);
    assert.deepEqual(granting(reconcile, 'sts:AssumeRole').map((s) => s.Resource), [arn('arn:', partition, ':iam::', account, ':role/tide-*')]);
    assert.deepEqual(granting(reconcile, 'eks:DescribeCluster').map((s) => s.Resource), [arn('arn:', partition, ':eks:*:', account, ':cluster/*')]);
    for (const fn of [stack.receiver.function.fn, stack.scheduler.function.fn, stack.source.fn]) {
      const actions = actionsOf(statementsOf(t, fn));
      assert.ok(!actions.includes('sts:AssumeRole') && !actions.includes('eks:DescribeCluster'), fn.node.path);
    }
  });

  it('grants secrets under tide/ to receiver, source and reconcile, not to the scheduler', () => {
    const secrets = arn('arn:', partition, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', account, ':secret:tide/*');
    for (const fn of [stack.receiver.function.fn, stack.source.fn, stack.reconcile.fn]) {
      assert.deepEqual(granting(statementsOf(t, fn), 'secretsmanager:GetSecretValue').map((s) => s.Resource), [secrets], fn.node.path);
    }
    assert.deepEqual(granting(statementsOf(t, stack.scheduler.function.fn), 'secretsmanager:GetSecretValue'), []);
  });

  it('grants no wildcard S3 action anywhere, and the receiver only reads state', () => {
    for (const policy of Object.values(t.findResources('AWS::IAM::Policy'))) {
      const actions = actionsOf(policy.Properties.PolicyDocument.Statement);
      assert.deepEqual(actions.filter((a) => a.startsWith('s3:') && a.includes('*')), []);
    }
    const receiver = actionsOf(statementsOf(t, stack.receiver.function.fn));
    assert.deepEqual(receiver.filter((a) => a.startsWith('s3:')).sort(), ['s3:GetObject', 's3:ListBucket']);
  });

  it('passes its props through: source buckets, cluster roles, EKS clusters, secrets prefix, rate, reserved concurrency', () => {
    // GIVEN
    const custom = fixtureStack({
      sourceBuckets: ['team-a-manifests'],
      clusterRoleArns: ['arn:aws:iam::111122223333:role/fleet-prod'],
      eksClusterArns: ['arn:aws:eks:eu-west-1:111122223333:cluster/prod'],
      secretsPrefix: 'fleet/',
      scheduleRate: Duration.minutes(2),
      receiverReservedConcurrency: 4,
      functions: { reconcile: { memorySize: 3538 } },
    });
    // WHEN
    const c = Template.fromStack(custom);
    // THEN
    const reconcile = statementsOf(c, custom.reconcile.fn);
    assert.deepEqual(granting(reconcile, 'sts:AssumeRole').map((s) => s.Resource), ['arn:aws:iam::111122223333:role/fleet-prod']);
    assert.deepEqual(granting(reconcile, 'eks:DescribeCluster').map((s) => s.Resource), ['arn:aws:eks:eu-west-1:111122223333:cluster/prod']);
    assert.match(JSON.stringify(granting(reconcile, 'secretsmanager:GetSecretValue')), /:secret:fleet\/\*/);
    const source = statementsOf(c, custom.source.fn);
    assert.deepEqual(granting(source, 's3:ListBucket').map((s) => s.Resource).slice(1), [arn('arn:', partition, ':s3:::team-a-manifests')]);
    assert.deepEqual(granting(source, 's3:GetObject').map((s) => s.Resource).slice(1), [arn('arn:', partition, ':s3:::team-a-manifests/*')]);
    assert.deepEqual(actionsOf(source).filter((a) => a.startsWith('s3:')).sort(), ['s3:DeleteObject', 's3:GetObject', 's3:GetObject', 's3:ListBucket', 's3:ListBucket', 's3:PutObject']);
    c.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.exact({ source: ['aws.s3'], 'detail-type': ['Object Created', 'Object Deleted'], detail: { bucket: { name: ['team-a-manifests'] } } }),
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(custom.sourceQueue.queue), 'Arn'] } })],
    });
    c.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(2 minutes)' });
    c.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 4, Environment: { Variables: { TIDE_SECRETS_PREFIX: 'fleet/' } } });
    c.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 3538 });
  });

  it('grants no role to assume when clusterRoleArns is empty', () => {
    const none = fixtureStack({ clusterRoleArns: [] });
    assert.deepEqual(granting(statementsOf(Template.fromStack(none), none.reconcile.fn), 'sts:AssumeRole'), []);
  });

  it('names the prop to change when it is impossible', () => {
    const app = new App();
    assert.throws(() => new TideStack(app, 'A', { secretsPrefix: '' }), /TideStack A: secretsPrefix "" must be/);
    assert.throws(() => new TideStack(app, 'B', { clusterRoleArns: ['tide-prod'] }), /TideStack B: clusterRoleArns has "tide-prod", not an IAM role ARN/);
    assert.throws(() => new TideStack(app, 'C', { eksClusterArns: ['prod'] }), /TideStack C: eksClusterArns has "prod", not an EKS cluster ARN/);
    assert.throws(() => new TideStack(app, 'D', { sourceBuckets: ['Not A Bucket'] }), /TideStack D: sourceBuckets has "Not A Bucket"/);
    assert.throws(() => new TideStack(app, 'E', { scheduleRate: Duration.seconds(30) }), /TideStack E: scheduleRate must be whole minutes/);
    assert.throws(() => new TideStack(app, 'F', { receiverReservedConcurrency: 0 }), /TideStack F: receiverReservedConcurrency must be/);
  });

  it('synthesizes with the real functions/*/handler.ts, and each bundle loads as Lambda would load it', async () => {
    // GIVEN the real handlers, WHEN the default stack is synthesized (bundling each one)
    const real = new TideStack(new App(), 'Tide');
    const r = Template.fromStack(real);
    // THEN each function runs its own bundle
    const fns = [real.receiver.function, real.scheduler.function, real.source, real.reconcile];
    const code = fns.map((f) => JSON.stringify(r.findResources('AWS::Lambda::Function')[logicalId(f.fn)]!.Properties.Code));
    // AND each bundle imports on its own (no node_modules beside it) and exports handler: a
    // dependency reading __dirname or require() at load time would fail here, not on Lambda.
    for (const f of fns) {
      const loaded = (await import(pathToFileURL(join(stagedBundle(f.fn), 'index.mjs')).href)) as { handler?: unknown };
      assert.equal(typeof loaded.handler, 'function', f.fn.node.path);
    }
    assert.equal(new Set(code).size, 4);
  });
});
