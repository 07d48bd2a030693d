import type { ScheduledEvent } from 'aws-lambda';
import { openAws, type AwsInstall } from '../../shared/serverless/aws-install.ts';
import { scheduleTick } from '../../shared/serverless/schedule-tick.ts';

let install: AwsInstall | undefined;

/** Every minute (an EventBridge schedule): a "Reconcile Requested" for each object due. */
export async function handler(event: ScheduledEvent): Promise<{ requested: number }> {
  install ??= openAws('tide-scheduler');
  const requested = await scheduleTick(install.ctx, event.time ? new Date(event.time) : new Date());
  return { requested: requested.length };
}
