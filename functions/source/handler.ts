import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { bucketSourcesWatching } from '../../shared/reconcile/bucket.ts';
import { sourceReconcilers } from '../../shared/reconcile/source-reconcilers.ts';
import { queueHandler } from '../../shared/serverless/queue-handler.ts';

/** The `source` queue: fetch GitRepository and Bucket sources; a user's bucket event starts its Bucket's fetch. */
export const handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> = queueHandler('source', sourceReconcilers, (install, bucket) =>
  bucketSourcesWatching(install.ctx.store, bucket),
);
