import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { AwsClusters } from '../aws/aws-clusters.ts';
import { openAws, readSettings, type AwsInstall } from './aws-install.ts';
import type { ObjectRef } from '../store/refs.ts';
import type { ReconcilerTable } from '../reconcile/reconcilers.ts';
import { processQueue } from './process-queue.ts';
import { sqsRequeue } from './requeue.ts';

/** Time kept back from the function's budget to write status and re-request after a cut-short wait. */
const MARGIN_MS = 20_000;

/** The handler of a queue-fed function (source, reconcile): the same work over its own kinds, named for its log and events. */
export function queueHandler(
  controller: 'source' | 'reconcile',
  reconcilers: ReconcilerTable,
  bucketWatchers?: (install: AwsInstall, bucket: string) => Promise<ObjectRef[]>,
): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  let install: AwsInstall | undefined;
  return async (event, context) => {
    install ??= openAws(`tide-${controller}`, { clusters: (blobs) => new AwsClusters(blobs, {}) });
    const { sqs, ctx } = install;
    const settings = readSettings(); // per invocation: cheap, and the queue is the function's own
    if (!settings.queueUrl) throw new Error(`TIDE_QUEUE_URL is not set: the ${controller} function re-requests work on its own queue (the CDK stack sets it)`);
    const deadline = Date.now() + Math.max(5_000, context.getRemainingTimeInMillis() - MARGIN_MS);
    return processQueue(event.Records.map((r) => ({ messageId: r.messageId, body: r.body })), {
      ctx,
      holder: `${controller}-${context.awsRequestId}`,
      deadline,
      requeue: sqsRequeue(sqs, settings.queueUrl, controller),
      stateBucket: settings.bucket,
      controller,
      reconcilers,
      ...(bucketWatchers ? { bucketWatchers: (bucket: string) => bucketWatchers(install!, bucket) } : {}),
    });
  };
}
