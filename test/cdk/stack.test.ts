import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { TideEventBus } from '../../cdk/constructs/event-bus.ts';
import { StateBucket } from '../../cdk/constructs/state-bucket.ts';
import { TideStack } from '../../cdk/tide-stack.ts';

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

describe('cdk: TideStack', () => {
  it('outputs the bucket and bus names', () => {
    const t = Template.fromStack(new TideStack(new App(), 'Tide'));
    t.resourceCountIs('AWS::S3::Bucket', 1);
    t.resourceCountIs('AWS::Events::EventBus', 1);
    t.hasOutput('StateBucketName', {});
    t.hasOutput('EventBusName', {});
  });
});
