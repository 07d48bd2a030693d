import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { formatRef, type ObjectRef } from '../store/refs.ts';
import { requestEnvelope } from './envelope.ts';

/** Asks for an object to be reconciled again after a delay. */
export type Requeue = (ref: ObjectRef, delayMs: number, reason: string, message: string) => Promise<void>;

/** SQS's longest message delay: 15 minutes. */
const MAX_DELAY_S = 900;

/**
 * A delayed re-request on the function's own queue: SQS holds the message for `DelaySeconds`
 * (up to 15 minutes; a longer wait is left to the scheduler, which finds the object due).
 */
export function sqsRequeue(client: SQSClient, queueUrl: string, controller: string): Requeue {
  return async (ref, delayMs, reason, message) => {
    const delay = Math.min(MAX_DELAY_S, Math.max(0, Math.ceil(delayMs / 1000)));
    try {
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, DelaySeconds: delay, MessageBody: JSON.stringify(requestEnvelope(ref, reason, message, controller)) }));
    } catch (err) {
      throw new Error(`re-requesting ${formatRef(ref)} on ${queueUrl}: ${(err as Error).message}`);
    }
  };
}
