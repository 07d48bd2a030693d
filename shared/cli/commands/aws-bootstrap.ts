import { readFile } from 'node:fs/promises';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateSecretCommand, PutSecretValueCommand, ResourceExistsException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AwsClusterRegistration } from '../../aws/aws-clusters.ts';
import { EventBridgeBus } from '../../events/eventbridge-bus.ts';
import { reconcileRequest } from '../../events/requests.ts';
import { registerBootstrap } from '../../reconcile/bootstrap-objects.ts';
import { parse, UsageError } from '../args.ts';
import { openAwsFleet } from './aws-fleet.ts';

const USAGE = `usage: tide aws bootstrap --bucket STATE_BUCKET --cluster NAME --url URL [--branch main] [--path clusters/NAME]
         (--eks-cluster NAME|ARN [--role-arn ARN] [--region R] | --kubeconfig-secret SECRET_ID [--context CTX])
         [--username U --password P | --private-key-file F --known-hosts-file F] [--bus tide] [--secrets-prefix tide/]`;

/**
 * `tide aws bootstrap`: registers a cluster with an install made by `cdk deploy` (its state
 * bucket), stores the Git credentials in Secrets Manager, registers the cluster's flux-system
 * GitRepository and Kustomization, and asks for both to be reconciled now (else the scheduler
 * finds them within a minute). Uses the AWS SDK's usual credentials and region.
 */
export async function awsBootstrap(args: string[]): Promise<number> {
  const { values } = parse(args, {
    bucket: { type: 'string' }, bus: { type: 'string' }, 'secrets-prefix': { type: 'string' },
    url: { type: 'string' }, branch: { type: 'string' }, path: { type: 'string' }, interval: { type: 'string' },
    'eks-cluster': { type: 'string' }, 'role-arn': { type: 'string' }, region: { type: 'string' },
    'kubeconfig-secret': { type: 'string' }, context: { type: 'string' }, label: { type: 'string', multiple: true },
    username: { type: 'string' }, password: { type: 'string' }, 'private-key-file': { type: 'string' }, 'known-hosts-file': { type: 'string' },
  });
  const bucket = values.bucket ?? process.env.TIDE_BUCKET;
  if (!bucket || !values.cluster || !values.url || (!values['eks-cluster'] === !values['kubeconfig-secret'])) throw new UsageError(USAGE);
  const cluster: string = values.cluster;
  const path: string = values.path ?? `clusters/${cluster}`;
  const prefix: string = values['secrets-prefix'] ?? 'tide/';
  const registration: AwsClusterRegistration = {
    path,
    labels: Object.fromEntries(((values.label ?? []) as string[]).map((l) => l.split('=', 2) as [string, string])),
    ...(values['eks-cluster']
      ? { eks: { cluster: values['eks-cluster'], ...(values['role-arn'] ? { roleArn: values['role-arn'] } : {}), ...(values.region ? { region: values.region } : {}) } }
      : { kubeconfigSecret: values['kubeconfig-secret'], ...(values.context ? { context: values.context } : {}) }),
  };
  const fleet = openAwsFleet(bucket);
  const { store } = fleet;
  await fleet.clusters.register(cluster, registration);

  // The flux-system secret, with Flux's keys, in Tide's secret store on AWS.
  const secret: Record<string, string> = {};
  if (values.username || values.password) Object.assign(secret, { username: values.username ?? 'git', password: values.password ?? '' });
  if (values['private-key-file']) secret.identity = await readFile(values['private-key-file'], 'utf8');
  if (values['known-hosts-file']) secret.known_hosts = await readFile(values['known-hosts-file'], 'utf8');
  const withSecret = Object.keys(secret).length > 0;
  if (withSecret) await putSecret(new SecretsManagerClient({}), `${prefix}${cluster}/flux-system/flux-system`, JSON.stringify(secret));

  const objects = await registerBootstrap(store, cluster, { url: values.url, branch: values.branch, path, interval: values.interval, withSecret });
  const bus = new EventBridgeBus({ client: new EventBridgeClient({}), busName: values.bus ?? process.env.TIDE_EVENT_BUS ?? 'tide' });
  await bus.publish(objects.map((o) => reconcileRequest({ cluster, namespace: 'flux-system', kind: o.kind, name: o.metadata.name }, 'Bootstrap', `tide aws bootstrap of cluster ${cluster}`, 'cli')));
  console.log(`► cluster ${cluster} registered in s3://${bucket} (${registration.eks ? `EKS ${registration.eks.cluster}` : `kubeconfig in ${registration.kubeconfigSecret}`}), bootstrap path ./${path}`);
  console.log('◎ reconcile requested: follow it with an EventBridge rule on the bus, or in the reconcile function\'s logs');
  fleet.close();
  return 0;
}

async function putSecret(client: SecretsManagerClient, name: string, value: string): Promise<void> {
  try {
    await client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  } catch (err) {
    if (!(err instanceof ResourceExistsException)) throw err;
    await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
  }
}
