import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { TideFunction } from '../../cdk/constructs/tide-function.ts';
import { WorkQueue } from '../../cdk/constructs/work-queue.ts';
import { FIXTURE_HANDLER, givenStack, granting, logicalId, statementsOf } from './fixtures/given.ts';

function givenConsumer(timeout = Duration.minutes(2)) {
  const { stack, bucket, bus } = givenStack();
  const consumer = new TideFunction(stack, 'Reconcile', { name: 'reconcile', entry: FIXTURE_HANDLER, bucket, bus, timeout });
  return { stack, consumer };
}

describe('cdk: WorkQueue', () => {
  it('feeds the function one message at a time, reporting partial batch failures', () => {
    // GIVEN
    const { stack, consumer } = givenConsumer();
    // WHEN
    const q = new WorkQueue(stack, 'Queue', { consumer });
    // THEN
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(q.queue), 'Arn'] },
      FunctionName: { Ref: logicalId(consumer.fn) },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('waits six function timeouts before redelivering, and dead-letters after three receives', () => {
    const { stack, consumer } = givenConsumer(Duration.minutes(2));
    const q = new WorkQueue(stack, 'Queue', { consumer });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 720,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(q.deadLetterQueue), 'Arn'] }, maxReceiveCount: 3 },
    });
    t.hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true });
    // Both queues refuse plain HTTP.
    t.resourcePropertiesCountIs('AWS::SQS::QueuePolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    }, 2);
  });

  it('raises an alarm when a message reaches the dead-letter queue', () => {
    const { stack, consumer } = givenConsumer();
    const q = new WorkQueue(stack, 'Queue', { consumer });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(q.deadLetterQueue), 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
    });
    assert.ok(q.deadLetterAlarm);
  });

  it('lets the function re-request itself: SendMessage on its own queue, TIDE_QUEUE_URL, no recursion stop', () => {
    const { stack, consumer } = givenConsumer();
    const q = new WorkQueue(stack, 'Queue', { consumer });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { TIDE_QUEUE_URL: { Ref: logicalId(q.queue) } } },
      RecursiveLoop: 'Allow',
    });
    const send = granting(statementsOf(t, consumer.fn), 'sqs:SendMessage');
    assert.deepEqual(send.map((s) => [s.Action, s.Resource]), [['sqs:SendMessage', { 'Fn::GetAtt': [logicalId(q.queue), 'Arn'] }]]);
  });

  it('takes a batch size and a concurrency limit, and can leave re-requests out', () => {
    const { stack, consumer } = givenConsumer();
    new WorkQueue(stack, 'Queue', { consumer, batchSize: 5, maxConcurrency: 20, maxReceiveCount: 5, selfRequeue: false });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 5, ScalingConfig: { MaximumConcurrency: 20 }, FunctionResponseTypes: ['ReportBatchItemFailures'] });
    t.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: { maxReceiveCount: 5 } });
    t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.not(Match.objectLike({ TIDE_QUEUE_URL: Match.anyValue() })) }, RecursiveLoop: Match.absent() });
    assert.deepEqual(granting(statementsOf(t, consumer.fn), 'sqs:SendMessage'), []);
  });

  it('names the prop to change when it is impossible', () => {
    const { stack, consumer } = givenConsumer();
    assert.throws(() => new WorkQueue(stack, 'A', { consumer, batchSize: 0 }), /WorkQueue A: batchSize must be/);
    assert.throws(() => new WorkQueue(stack, 'B', { consumer, batchSize: 11 }), /WorkQueue B: batchSize must be/);
    assert.throws(() => new WorkQueue(stack, 'C', { consumer, maxReceiveCount: 0 }), /WorkQueue C: maxReceiveCount must be/);
    assert.throws(() => new WorkQueue(stack, 'D', { consumer, deadLetterRetention: Duration.days(15) }), /WorkQueue D: deadLetterRetention must be/);
    assert.throws(() => new WorkQueue(stack, 'E', { consumer, maxConcurrency: 1 }), /WorkQueue E: maxConcurrency must be/);
  });
});
