import { Annotations, Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TideFunction, type TideFunctionOptions } from './tide-function.ts';

export interface SchedulerProps extends TideFunctionOptions {
  /** The state bucket (what is due is read from the objects' status). */
  readonly bucket: s3.IBucket;
  /** The `tide` bus the scheduler sends `Reconcile Requested` to. */
  readonly bus: events.IEventBus;
  /**
   * How often the scheduler runs: the finest `interval` Tide honours. Whole minutes, at least 1.
   * @default Duration.minutes(1)
   */
  readonly rate?: Duration;
  /**
   * Retries of a failed tick before it goes to the dead-letter queue (0 to 2).
   * @default 2
   */
  readonly retryAttempts?: number;
}

/**
 * The scheduler: a Tide function run by an EventBridge rule every `rate` (default bus, as
 * scheduled rules must be). Each tick reads what is due across the fleet and emits
 * `Reconcile Requested` for it. A tick that still fails after `retryAttempts` goes to a
 * dead-letter queue, whose depth raises `deadLetterAlarm`; the next tick does the work anyway.
 */
export class Scheduler extends Construct {
  readonly function: TideFunction;
  readonly rule: events.Rule;
  /** Failed asynchronous invocations (ticks), kept 14 days. */
  readonly deadLetterQueue: sqs.Queue;
  /** ApproximateNumberOfMessagesVisible > 0 on the dead-letter queue. */
  readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: SchedulerProps) {
    super(scope, id);
    const rate = props.rate ?? Duration.minutes(1);
    if (!Token.isUnresolved(rate.toSeconds()) && (rate.toSeconds() < 60 || rate.toSeconds() % 60 !== 0)) {
      throw new Error(`Scheduler ${id}: rate must be whole minutes, at least 1 (got ${rate.toHumanString()})`);
    }
    const retryAttempts = props.retryAttempts ?? 2;
    if (!Number.isInteger(retryAttempts) || retryAttempts < 0 || retryAttempts > 2) {
      throw new Error(`Scheduler ${id}: retryAttempts must be 0, 1 or 2 (got ${retryAttempts})`);
    }
    const timeout = props.timeout ?? Duration.minutes(1);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.function = new TideFunction(this, 'Function', {
      ...props,
      name: 'scheduler',
      description: 'Tide scheduler: requests a reconcile of what is due across the fleet',
      timeout,
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts,
    });
    if (!Token.isUnresolved(rate.toSeconds()) && timeout.toSeconds() > rate.toSeconds()) {
      Annotations.of(this).addWarningV2('tide:schedulerOverlap', `timeout ${timeout.toHumanString()} is longer than rate ${rate.toHumanString()}: slow ticks will overlap (harmless, leases keep one reconcile at a time, but wasteful)`);
    }
    this.rule = new events.Rule(this, 'Tick', {
      description: 'Tide: run the scheduler',
      schedule: events.Schedule.rate(rate),
      targets: [new targets.LambdaFunction(this.function.fn)],
    });
    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: `Tide ${id}: scheduler ticks failed after their retries; see the function's log group`,
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
