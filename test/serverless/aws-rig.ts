import { randomUUID } from 'node:crypto';
import { CreateEventBusCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, PutBucketNotificationConfigurationCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { artifactPointers, reconcileRequests, sourceRequests, userBucketChanges } from '../../shared/serverless/routes.ts';
import type { Moto } from '../rig/moto.ts';

/**
 * One Tide install in moto, wired as the CDK stack wires it (the same event patterns, from
 * shared/serverless/routes.ts): the state bucket with EventBridge notifications, the `tide` bus,
 * the `source` and `reconcile` queues and their rules. The functions' handlers run in this
 * process; `pump` plays Lambda's SQS event source mapping (receive, invoke with an SQSEvent as AWS
 * shapes it, delete what the handler did not report as failed). Lambda itself cannot run here.
 */
export interface AwsInstallRig {
  readonly bucket: string;
  readonly busName: string;
  readonly queues: { source: string; reconcile: string };
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly secrets: SecretsManagerClient;
  readonly eventbridge: EventBridgeClient;
  /** Environment the functions read (functions/README.md), with moto as every endpoint. */
  readonly env: Record<string, string>;
  /** A Secrets Manager secret: a string as it is, anything else as JSON. */
  putSecret(name: string, value: unknown): Promise<void>;
  destroy(): void;
}

let n = 0;

export async function createAwsInstall(moto: Moto, options: { userBuckets?: string[] } = {}): Promise<AwsInstallRig> {
  const id = `${process.pid}-${++n}`;
  const s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true });
  const sqs = new SQSClient(moto.clientConfig);
  const secrets = new SecretsManagerClient(moto.clientConfig);
  const eventbridge = new EventBridgeClient(moto.clientConfig);
  const bucket = `tide-state-${id}`;
  const busName = `tide-${id}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  await s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: { EventBridgeConfiguration: {} } }));
  await eventbridge.send(new CreateEventBusCommand({ Name: busName }));
  const queue = async (name: string) => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-${id}`, Attributes: { VisibilityTimeout: '30' } }));
    const { QueueArn } = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes ?? {};
    return { url: QueueUrl!, arn: QueueArn! };
  };
  const [source, reconcile] = [await queue('source'), await queue('reconcile')];
  const rule = async (name: string, bus: string, pattern: unknown, arn: string) => {
    await eventbridge.send(new PutRuleCommand({ Name: `${name}-${id}`, EventBusName: bus, EventPattern: JSON.stringify(pattern) }));
    await eventbridge.send(new PutTargetsCommand({ Rule: `${name}-${id}`, EventBusName: bus, Targets: [{ Id: 'queue', Arn: arn }] }));
  };
  await rule('source-requests', busName, sourceRequests, source.arn);
  await rule('reconcile-requests', busName, reconcileRequests, reconcile.arn);
  await rule('artifact-pointers', 'default', artifactPointers(bucket), reconcile.arn);
  if (options.userBuckets?.length) await rule('user-buckets', 'default', userBucketChanges(options.userBuckets), source.arn);
  const env = {
    TIDE_BUCKET: bucket,
    TIDE_EVENT_BUS: busName,
    TIDE_S3_PATH_STYLE: '1',
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: moto.region,
    AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey,
  };
  return {
    bucket, busName, queues: { source: source.url, reconcile: reconcile.url }, s3, sqs, secrets, eventbridge, env,
    async putSecret(name, value) {
      await secrets.send(new CreateSecretCommand({ Name: name, SecretString: typeof value === 'string' ? value : JSON.stringify(value) }));
    },
    destroy() {
      for (const c of [s3, sqs, secrets, eventbridge]) c.destroy();
    },
  };
}

/** A Lambda context as the runtime hands it: a request id and the time left. */
export function lambdaContext(budgetMs = 60_000): Context {
  const until = Date.now() + budgetMs;
  return {
    awsRequestId: randomUUID(),
    getRemainingTimeInMillis: () => Math.max(0, until - Date.now()),
    functionName: 'tide', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:tide',
    memoryLimitInMB: '1024', logGroupName: '/aws/lambda/tide', logStreamName: 'rig', callbackWaitsForEmptyEventLoop: false,
    done: () => undefined, fail: () => undefined, succeed: () => undefined,
  } as Context;
}

/** An SQSEvent exactly as Lambda's event source mapping builds it from received messages. */
export function sqsEvent(messages: Message[], queueArn = 'arn:aws:sqs:us-east-1:123456789012:tide'): SQSEvent {
  return {
    Records: messages.map((m): SQSRecord => ({
      messageId: m.MessageId!, receiptHandle: m.ReceiptHandle!, body: m.Body ?? '',
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), SenderId: 'AIDA', ApproximateFirstReceiveTimestamp: String(Date.now()) },
      messageAttributes: {}, md5OfBody: m.MD5OfBody ?? '', eventSource: 'aws:sqs', eventSourceARN: queueArn, awsRegion: 'us-east-1',
    })),
  };
}

/** Receives up to `max` messages now (no long poll). */
export async function receive(sqs: SQSClient, queueUrl: string, max = 10): Promise<Message[]> {
  return (await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: max, WaitTimeSeconds: 0, VisibilityTimeout: 30 }))).Messages ?? [];
}

export async function deleteMessages(sqs: SQSClient, queueUrl: string, messages: Message[]): Promise<void> {
  if (messages.length) await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
}

type QueueHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * Plays Lambda's SQS event source mapping for the source and reconcile queues until neither has
 * anything visible: what each queue has is received and handed to its function's handler, one
 * message per invocation and the invocations at once (as Lambda scales out with batch size 1);
 * what a handler did not report as failed is deleted. Returns how many messages were handled;
 * throws on a failure. `trace` hears of each invocation and how long it took.
 */
export async function pumpQueues(
  rig: AwsInstallRig,
  handlers: { source: QueueHandler; reconcile: QueueHandler },
  budgetMs = 60_000,
  trace?: (queue: string, body: string, ms: number) => void,
): Promise<number> {
  let handled = 0;
  for (let idle = 0; idle < 2; ) {
    const work: Array<Promise<void>> = [];
    for (const name of ['source', 'reconcile'] as const) {
      const url = rig.queues[name];
      for (const message of await receive(rig.sqs, url, 10)) {
        work.push((async () => {
          const t0 = performance.now();
          // Each function's own queue; the handler reads it synchronously as it starts.
          process.env.TIDE_QUEUE_URL = url;
          const res = await handlers[name](sqsEvent([message]), lambdaContext(budgetMs));
          trace?.(name, message.Body ?? '', performance.now() - t0);
          if (res.batchItemFailures.length) throw new Error(`${name} handler reported message ${message.MessageId} failed`);
          await deleteMessages(rig.sqs, url, [message]);
        })());
      }
    }
    await Promise.all(work);
    handled += work.length;
    idle = work.length ? 0 : idle + 1;
  }
  return handled;
}
