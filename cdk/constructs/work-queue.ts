import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { TideFunction } from './tide-function.ts';

export interface WorkQueueProps {
  /** The function that works the queue (source or reconcile). */
  readonly consumer: TideFunction;
  /**
   * Messages handed to one invocation (1 to 10). The handler reports the ones that failed
   * (`batchItemFailures`), so a larger batch retries only those.
   * @default 1
   */
  readonly batchSize?: number;
  /**
   * Receives of a message before it moves to the dead-letter queue.
   * @default 3
   */
  readonly maxReceiveCount?: number;
  /**
   * How long the dead-letter queue keeps a message (at most 14 days).
   * @default Duration.days(14)
   */
  readonly deadLetterRetention?: Duration;
  /**
   * Most concurrent invocations the queue drives (2 to 1000), e.g. to spare the clusters'
   * API servers.
   * @default - no limit but the function's and the account's
   */
  readonly maxConcurrency?: number;
  /**
   * The consumer re-requests itself through its own queue with `DelaySeconds` (a health wait
   * longer than one invocation): grants it sqs:SendMessage on the queue, sets `TIDE_QUEUE_URL`,
   * and lets Lambda run the function → queue → function chain past its recursive-loop limit
   * (16 hops), which would otherwise drop a long wait.
   * @default true
   */
  readonly selfRequeue?: boolean;
}

/**
 * The SQS queue a Tide worker reads, with its dead-letter queue. Messages are EventBridge event
 * envelopes (functions/README.md). Both queues are encrypted with SQS-managed keys (so
 * EventBridge needs no KMS grant to send) and refuse plain HTTP. The visibility timeout is six
 * times the function's timeout, as AWS advises for SQS event sources; a message received
 * `maxReceiveCount` times goes to the dead-letter queue, whose depth raises `deadLetterAlarm`.
 */
export class WorkQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** ApproximateNumberOfMessagesVisible > 0 on the dead-letter queue. Add an action to be told. */
  readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: WorkQueueProps) {
    super(scope, id);
    const fn: lambda.Function = props.consumer.fn;
    const batchSize = props.batchSize ?? 1;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10) {
      throw new Error(`WorkQueue ${id}: batchSize must be a whole number from 1 to 10 (got ${batchSize})`);
    }
    const maxReceiveCount = props.maxReceiveCount ?? 3;
    if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
      throw new Error(`WorkQueue ${id}: maxReceiveCount must be a whole number from 1 to 1000 (got ${maxReceiveCount})`);
    }
    const retention = props.deadLetterRetention ?? Duration.days(14);
    if (!Token.isUnresolved(retention.toSeconds()) && (retention.toSeconds() < 60 || retention.toSeconds() > Duration.days(14).toSeconds())) {
      throw new Error(`WorkQueue ${id}: deadLetterRetention must be from 1 minute to 14 days (got ${retention.toHumanString()})`);
    }
    const maxConcurrency = props.maxConcurrency;
    if (maxConcurrency !== undefined && (!Number.isInteger(maxConcurrency) || maxConcurrency < 2 || maxConcurrency > 1000)) {
      throw new Error(`WorkQueue ${id}: maxConcurrency must be a whole number from 2 to 1000 (got ${maxConcurrency})`);
    }
    const timeout = fn.timeout ?? Duration.seconds(3);
    const visibilityTimeout = Duration.seconds(timeout.toSeconds() * 6);
    if (visibilityTimeout.toSeconds() > Duration.hours(12).toSeconds()) {
      throw new Error(`WorkQueue ${id}: the consumer's timeout ${timeout.toHumanString()} is too long for an SQS visibility timeout of six times it (at most 12 hours)`);
    }

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      retentionPeriod: retention,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      visibilityTimeout,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });

    fn.addEventSource(new SqsEventSource(this.queue, {
      batchSize,
      reportBatchItemFailures: true,
      maxConcurrency,
    }));

    if (props.selfRequeue ?? true) {
      this.queue.grant(fn, 'sqs:SendMessage');
      fn.addEnvironment('TIDE_QUEUE_URL', this.queue.queueUrl);
      (fn.node.defaultChild as lambda.CfnFunction).recursiveLoop = 'Allow';
    }

    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: `Tide ${id}: messages failed ${maxReceiveCount} times and wait in the dead-letter queue; read them, fix the cause, then redrive`,
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
