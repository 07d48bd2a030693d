import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Duration } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Scheduler } from '../../cdk/constructs/scheduler.ts';
import { actionsOf, FIXTURE_HANDLER, givenStack, logicalId, statementsOf } from './fixtures/given.ts';

describe('cdk: Scheduler', () => {
  it('runs every minute from an EventBridge rule', () => {
    // GIVEN
    const { stack, bucket, bus } = givenStack();
    // WHEN
    const s = new Scheduler(stack, 'Scheduler', { entry: FIXTURE_HANDLER, bucket, bus });
    // THEN
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      EventBusName: Match.absent(),
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(s.function.fn), 'Arn'] } })],
    });
    t.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [logicalId(s.rule), 'Arn'] },
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 1024,
      Timeout: 60,
      Layers: Match.absent(),
      Environment: { Variables: Match.exact({ TIDE_BUCKET: { Ref: logicalId(bucket) }, TIDE_EVENT_BUS: { Ref: logicalId(bus) }, NODE_OPTIONS: '--enable-source-maps' }) },
    });
  });

  it('retries a failed tick twice, then keeps it in a dead-letter queue with an alarm', () => {
    const { stack, bucket, bus } = givenStack();
    const s = new Scheduler(stack, 'Scheduler', { entry: FIXTURE_HANDLER, bucket, bus });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { FunctionName: { Ref: logicalId(s.function.fn) }, MaximumRetryAttempts: 2 });
    t.hasResourceProperties('AWS::Lambda::Function', { DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [logicalId(s.deadLetterQueue), 'Arn'] } } });
    t.hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(s.deadLetterQueue), 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(s.function.fn) } }] });
    // Read/write state, events, and its dead-letter queue; no secrets.
    assert.deepEqual(actionsOf(statementsOf(t, s.function.fn)).sort(), [
      'events:PutEvents', 's3:DeleteObject', 's3:GetObject', 's3:ListBucket', 's3:PutObject', 'sqs:SendMessage',
    ]);
  });

  it('takes a rate in whole minutes and warns when ticks would overlap', () => {
    const { stack, bucket, bus } = givenStack();
    new Scheduler(stack, 'Scheduler', { entry: FIXTURE_HANDLER, bucket, bus, rate: Duration.minutes(5), timeout: Duration.minutes(6), retryAttempts: 0 });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0 });
    Annotations.fromStack(stack).hasWarning('/Test/Scheduler', Match.stringLikeRegexp('slow ticks will overlap'));
  });

  it('names the prop to change when it is impossible', () => {
    const { stack, bucket, bus } = givenStack();
    const base = { entry: FIXTURE_HANDLER, bucket, bus };
    assert.throws(() => new Scheduler(stack, 'A', { ...base, rate: Duration.seconds(30) }), /Scheduler A: rate must be whole minutes/);
    assert.throws(() => new Scheduler(stack, 'B', { ...base, rate: Duration.seconds(90) }), /Scheduler B: rate must be whole minutes/);
    assert.throws(() => new Scheduler(stack, 'C', { ...base, retryAttempts: 3 }), /Scheduler C: retryAttempts must be 0, 1 or 2/);
  });
});
