import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { queueHandler } from '../../shared/serverless/queue-handler.ts';

/** The `source` queue: fetch GitRepository and Bucket sources; a user's bucket event starts its Bucket's fetch. */
export const handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> = queueHandler('source');
