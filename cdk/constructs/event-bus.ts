import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';

export interface TideEventBusProps {
  /**
   * Name of the bus every Tide event goes through.
   * @default 'tide'
   */
  readonly eventBusName?: string;
  /**
   * Days Tide's events are archived for replay (a reconcile history a person can replay into a
   * rule). 0 keeps no archive.
   * @default 7
   */
  readonly archiveRetentionDays?: number;
}

/**
 * The `tide` EventBridge bus. Every arrow between Tide's functions and every outcome is an event
 * on it with source `tide` and a documented detail-type (docs/events.md), so a user subscribes
 * with an ordinary rule.
 */
export class TideEventBus extends Construct {
  readonly bus: events.EventBus;

  constructor(scope: Construct, id: string, props: TideEventBusProps = {}) {
    super(scope, id);
    const name = props.eventBusName ?? 'tide';
    if (!/^[A-Za-z0-9._-]{1,256}$/.test(name) || name === 'default') {
      throw new Error(`TideEventBus ${id}: eventBusName ${JSON.stringify(name)} must be 1-256 of letters, digits, ".", "_", "-" and not "default"`);
    }
    const days = props.archiveRetentionDays ?? 7;
    if (!Number.isInteger(days) || days < 0) {
      throw new Error(`TideEventBus ${id}: archiveRetentionDays must be a whole number of days, 0 or more (got ${days})`);
    }
    this.bus = new events.EventBus(this, 'Bus', { eventBusName: name });
    if (days > 0) {
      this.bus.archive('Archive', {
        description: 'Tide events, for replay',
        eventPattern: { source: ['tide'] },
        retention: Duration.days(days),
      });
    }
  }
}
