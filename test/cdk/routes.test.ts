import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Routes } from '../../cdk/constructs/routes.ts';
import { givenStack, logicalId } from './fixtures/given.ts';

function givenQueues() {
  const { stack, bucket, bus } = givenStack();
  const sourceQueue = new sqs.Queue(stack, 'SourceQueue');
  const reconcileQueue = new sqs.Queue(stack, 'ReconcileQueue');
  return { stack, bucket, bus, sourceQueue, reconcileQueue };
}

describe('cdk: Routes', () => {
  it('routes Reconcile Requested on the tide bus by kind: sources to the source queue, the rest to reconcile', () => {
    // GIVEN
    const { stack, bucket, bus, sourceQueue, reconcileQueue } = givenQueues();
    // WHEN
    const r = new Routes(stack, 'Routes', { bus, stateBucket: bucket, sourceQueue, reconcileQueue });
    // THEN
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: logicalId(bus) },
      EventPattern: Match.exact({
        source: ['tide'],
        'detail-type': ['Reconcile Requested'],
        detail: { involvedObject: { kind: ['GitRepository', 'Bucket'] } },
      }),
      Targets: [{ Arn: { 'Fn::GetAtt': [logicalId(sourceQueue), 'Arn'] }, Id: 'Target0' }],
    });
    t.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: logicalId(bus) },
      EventPattern: Match.exact({
        source: ['tide'],
        'detail-type': ['Reconcile Requested'],
        detail: { involvedObject: { kind: ['Receiver', 'Kustomization'] } },
      }),
      Targets: [{ Arn: { 'Fn::GetAtt': [logicalId(reconcileQueue), 'Arn'] }, Id: 'Target0' }],
    });
    // The whole envelope is delivered (no InputPath/InputTransformer), as functions/README.md says.
    for (const rule of Object.values(t.findResources('AWS::Events::Rule'))) {
      for (const target of rule.Properties.Targets as Array<Record<string, unknown>>) {
        assert.deepEqual(Object.keys(target).sort(), ['Arn', 'Id']);
      }
    }
    assert.equal(r.sourceBucketChanged, undefined);
    t.resourceCountIs('AWS::Events::Rule', 3);
  });

  it('sends artifact pointers written to the state bucket (default bus) to the reconcile queue', () => {
    const { stack, bucket, bus, sourceQueue, reconcileQueue } = givenQueues();
    new Routes(stack, 'Routes', { bus, stateBucket: bucket, sourceQueue, reconcileQueue });
    Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.absent(),
      EventPattern: Match.exact({
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [{ Ref: logicalId(bucket) }] }, object: { key: [{ suffix: '.artifact.json' }] } },
      }),
      Targets: [{ Arn: { 'Fn::GetAtt': [logicalId(reconcileQueue), 'Arn'] }, Id: 'Target0' }],
    });
  });

  it('sends changes in the users\' source buckets to the source queue', () => {
    const { stack, bucket, bus, sourceQueue, reconcileQueue } = givenQueues();
    const r = new Routes(stack, 'Routes', { bus, stateBucket: bucket, sourceQueue, reconcileQueue, sourceBuckets: ['team-a-manifests', 'team-b.configs'] });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.absent(),
      EventPattern: Match.exact({
        source: ['aws.s3'],
        'detail-type': ['Object Created', 'Object Deleted'],
        detail: { bucket: { name: ['team-a-manifests', 'team-b.configs'] } },
      }),
      Targets: [{ Arn: { 'Fn::GetAtt': [logicalId(sourceQueue), 'Arn'] }, Id: 'Target0' }],
    });
    t.resourceCountIs('AWS::Events::Rule', 4);
    assert.ok(r.sourceBucketChanged);
  });

  it('lets EventBridge send to each queue, from its rules only', () => {
    const { stack, bucket, bus, sourceQueue, reconcileQueue } = givenQueues();
    const r = new Routes(stack, 'Routes', { bus, stateBucket: bucket, sourceQueue, reconcileQueue });
    const t = Template.fromStack(stack);
    const allow = (rule: string) => Match.objectLike({
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: Match.arrayWith(['sqs:SendMessage']),
      Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule, 'Arn'] } } },
    });
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: logicalId(sourceQueue) }],
      PolicyDocument: { Statement: [allow(logicalId(r.sourceRequests))] },
    });
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: logicalId(reconcileQueue) }],
      PolicyDocument: { Statement: [allow(logicalId(r.reconcileRequests)), allow(logicalId(r.artifactWritten))] },
    });
  });

  it('names the prop to change when it is impossible', () => {
    const { stack, bus, sourceQueue, reconcileQueue } = givenQueues();
    const stateBucket = s3.Bucket.fromBucketName(stack, 'State', 'tide-state');
    const base = { bus, stateBucket, sourceQueue, reconcileQueue };
    assert.throws(() => new Routes(stack, 'A', { ...base, sourceBuckets: ['My_Bucket'] }), /Routes A: sourceBuckets has "My_Bucket", not an S3 bucket name/);
    assert.throws(() => new Routes(stack, 'B', { ...base, sourceBuckets: ['a-bucket', 'a-bucket'] }), /Routes B: sourceBuckets names "a-bucket" twice/);
    assert.throws(() => new Routes(stack, 'C', { ...base, sourceBuckets: ['tide-state'] }), /Routes C: sourceBuckets must not name the state bucket/);
  });
});
