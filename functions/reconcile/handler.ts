import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { clusterReconcilers } from '../../shared/reconcile/cluster-reconcilers.ts';
import { queueHandler } from '../../shared/serverless/queue-handler.ts';

/** The `reconcile` queue: one Kustomization (or Receiver) on one cluster, under its lease; a new artifact requests its consumers. */
export const handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> = queueHandler('reconcile', clusterReconcilers);
