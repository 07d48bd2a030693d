import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SecretsManagerSecrets } from '../aws/secrets-manager.ts';
import { EventBridgeBus } from '../events/eventbridge-bus.ts';
import type { Cluster } from '../kube/cluster.ts';
import { Logger } from '../log.ts';
import type { BlobStore } from '../store/blob.ts';
import type { ReconcileContext } from '../reconcile/context.ts';
import { ClusterSecrets, SecretChain } from '../secrets/secrets.ts';
import { S3BlobStore } from '../store/s3-blob-store.ts';
import { StateStore } from '../store/state-store.ts';

/** The functions' settings, from their environment (set by the CDK stack; see functions/README.md). */
export interface AwsSettings {
  readonly bucket: string;
  readonly busName: string;
  readonly queueUrl?: string;
  readonly secretsPrefix: string;
  readonly maxWebhookBytes: number;
  /** Path-style S3 addressing, for S3-compatible endpoints (moto in the tests). */
  readonly s3PathStyle: boolean;
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): AwsSettings {
  const bucket = env.TIDE_BUCKET;
  if (!bucket) throw new Error('TIDE_BUCKET is not set: the function needs the name of Tide\'s state bucket (the CDK stack sets it)');
  const maxWebhookBytes = Number(env.TIDE_MAX_WEBHOOK_BYTES ?? 4 << 20);
  if (!Number.isInteger(maxWebhookBytes) || maxWebhookBytes <= 0) throw new Error(`TIDE_MAX_WEBHOOK_BYTES=${env.TIDE_MAX_WEBHOOK_BYTES} is not a positive number of bytes`);
  return {
    bucket,
    busName: env.TIDE_EVENT_BUS || 'tide',
    ...(env.TIDE_QUEUE_URL ? { queueUrl: env.TIDE_QUEUE_URL } : {}),
    secretsPrefix: env.TIDE_SECRETS_PREFIX ?? 'tide/',
    maxWebhookBytes,
    s3PathStyle: env.TIDE_S3_PATH_STYLE === '1' || env.TIDE_S3_PATH_STYLE === 'true',
  };
}

/** How a function reaches registered clusters (shared/aws/aws-clusters.ts), for those that do. */
export interface ClusterConnector {
  connect(name: string): Promise<Cluster>;
}

/** What a function runs on, made once per Lambda container and reused by warm invocations. */
export interface AwsInstall {
  readonly settings: AwsSettings;
  readonly ctx: ReconcileContext;
  readonly sqs: SQSClient;
}

/**
 * The AWS side of the same interfaces `tide local` uses: the state store on S3, the bus on
 * EventBridge, Tide's secrets in Secrets Manager (then the cluster's Secret of that name), and
 * clusters registered in the state bucket (EKS through an assumed role, or a stored kubeconfig).
 * Endpoints and credentials come from the SDK's own chain (AWS_ENDPOINT_URL works for tests).
 */
export function openAws(service: string, options: { clusters?: (blobs: BlobStore) => ClusterConnector } = {}, settings: AwsSettings = readSettings()): AwsInstall {
  const s3 = new S3Client({ forcePathStyle: settings.s3PathStyle });
  const store = new StateStore(new S3BlobStore({ client: s3, bucket: settings.bucket }));
  const bus = new EventBridgeBus({ client: new EventBridgeClient({}), busName: settings.busName });
  // The scheduler reaches no cluster: passing no connector keeps the Kubernetes client out of its bundle.
  const clusters = options.clusters?.(store.blobs);
  const cluster = async (name: string) => {
    if (!clusters) throw new Error(`${service} does not connect to clusters (cluster ${name})`);
    return clusters.connect(name);
  };
  const log = new Logger({ service });
  const ctx: ReconcileContext = {
    store,
    bus,
    cluster,
    secrets: new SecretChain([new SecretsManagerSecrets(new SecretsManagerClient({}), settings.secretsPrefix), ...(clusters ? [new ClusterSecrets(cluster)] : [])]),
    log,
  };
  return { settings, ctx, sqs: new SQSClient({}) };
}
