import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { TideEventBus, type TideEventBusProps } from './constructs/event-bus.ts';
import { StateBucket, type StateBucketProps } from './constructs/state-bucket.ts';

export interface TideStackProps extends StackProps {
  /** @default StateBucket's defaults */
  readonly state?: StateBucketProps;
  /** @default TideEventBus's defaults */
  readonly bus?: TideEventBusProps;
}

/**
 * One Tide install: the state bucket and the event bus. The functions, schedules, receiver and
 * alarms are added on these by the serverless issue; nothing here is a placeholder for them.
 */
export class TideStack extends Stack {
  readonly state: StateBucket;
  readonly bus: TideEventBus;

  constructor(scope: Construct, id: string, props: TideStackProps = {}) {
    super(scope, id, props);
    this.state = new StateBucket(this, 'State', props.state);
    this.bus = new TideEventBus(this, 'Events', props.bus);
    new CfnOutput(this, 'StateBucketName', { value: this.state.bucket.bucketName });
    new CfnOutput(this, 'EventBusName', { value: this.bus.bus.eventBusName });
  }
}
