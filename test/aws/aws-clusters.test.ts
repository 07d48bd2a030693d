import { CreateClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AwsClusters, type AwsClusterRegistration } from '../../shared/aws/aws-clusters.ts';
import { S3BlobStore } from '../../shared/store/index.ts';
import { startIamAuthenticator, type IamAuthenticator } from '../rig/iam-authenticator.ts';
import { startKube, type Kube } from '../rig/kube.ts';
import { startMoto, type Moto } from '../rig/moto.ts';

const ACCOUNT = '123456789012';
const DEPLOYER = `arn:aws:iam::${ACCOUNT}:role/tide-deployer`;
const STRANGER = `arn:aws:iam::${ACCOUNT}:role/someone-else`;

let moto: Moto;
let authn: IamAuthenticator;
let kube: Kube;
let s3: S3Client;
let sm: SecretsManagerClient;
let blobs: S3BlobStore;
const open: AwsClusters[] = [];

/** An AwsClusters on the test's bucket, closed after the file. */
function clusters(now?: () => number): AwsClusters {
  const c = new AwsClusters(blobs, { clientConfig: moto.clientConfig, ...(now ? { now } : {}) });
  open.push(c);
  return c;
}

/** One IAM query call to moto (the SDK's IAM client is not a dependency); moto routes it by the credential scope. */
async function iam(params: Record<string, string>, accessKeyId = 'testing'): Promise<string> {
  const res = await fetch(moto.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({ ...params, Version: '2010-05-08' }).toString(),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`IAM ${params.Action}: ${res.status} ${text}`);
  return text;
}

before(async () => {
  moto = await startMoto();
  authn = await startIamAuthenticator({
    clusterId: 'prod',
    stsEndpoint: moto.endpoint,
    // As an EKS access entry for the role (or aws-auth's mapRoles) would say.
    mapping: {
      [DEPLOYER]: { username: 'tide:{{SessionName}}', groups: ['tide-deployers'] },
      [STRANGER]: { username: 'stranger' },
    },
  });
  kube = await startKube({ controllerManager: false, apiserverArgs: authn.apiserverArgs });

  await iam({ Action: 'CreateRole', RoleName: 'tide-deployer', AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' }] }) });

  // RBAC for the mapped group: list namespaces, nothing else.
  const role = await kube.api('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'tide-namespace-reader' },
    rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list'] }],
  });
  assert.equal(role.status, 201, JSON.stringify(role.body));
  const binding = await kube.api('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'tide-deployers' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'tide-namespace-reader' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'tide-deployers' }],
  });
  assert.equal(binding.status, 201, JSON.stringify(binding.body));

  s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: 'tide-state' }));
  blobs = new S3BlobStore({ client: s3, bucket: 'tide-state' });
  sm = new SecretsManagerClient(moto.clientConfig);
});

after(async () => {
  for (const c of open) c.close();
  s3?.destroy();
  sm?.destroy();
  await kube?.stop();
  await authn?.stop();
  await moto?.stop();
});

const ca = () => Buffer.from(kube.caPem).toString('base64');

describe('AwsClusters registry', () => {
  test('register, list and get round-trip through the state bucket', async () => {
    const c = clusters();
    const reg: AwsClusterRegistration = { labels: { env: 'test' }, path: './clusters/listed', eks: { cluster: 'listed', roleArn: DEPLOYER, region: 'eu-west-1' } };
    await c.register('listed', reg);
    assert.deepEqual((await c.list()).listed, reg);
    assert.ok(await blobs.get('clusters/listed/registration.json'));
  });

  test('a registration must say exactly one way to reach the cluster', async () => {
    const c = clusters();
    await assert.rejects(c.register('none', { labels: {} }), /cluster none: no way to reach it: set eks: \{cluster.*kubeconfigSecret/);
    await assert.rejects(c.register('both', { eks: { cluster: 'x' }, kubeconfigSecret: 'tide/x' }), /both eks and kubeconfigSecret are set/);
    await assert.rejects(c.register('badarn', { eks: { cluster: 'arn:aws:eks:nowhere' } }), /not an EKS cluster ARN/);
    await assert.rejects(c.register('badrole', { eks: { cluster: 'x', roleArn: 'tide-deployer' } }), /not an IAM role ARN/);
    await assert.rejects(c.register('Bad_Name', { eks: { cluster: 'x' } }), /cluster/);
    // Written by hand (or by an older Tide): connect says what to set.
    await blobs.put('clusters/handmade/registration.json', new TextEncoder().encode('{"path":"./x"}'));
    await assert.rejects(c.connect('handmade'), /cluster handmade: no way to reach it: set eks/);
    await assert.rejects(c.connect('missing'), /cluster missing is not registered/);
  });
});

describe('EKS clusters', () => {
  test('connects with an assumed role and an EKS token; RBAC sees the mapped user', async () => {
    const c = clusters();
    await c.register('prod', { eks: { cluster: 'prod', roleArn: DEPLOYER, region: 'us-east-1', endpoint: kube.server, certificateAuthorityData: ca() } });
    const cluster = await c.connect('prod');
    assert.equal(cluster.client.server, kube.server);
    const list = await cluster.client.call<{ items: Array<{ metadata: { name: string } }> }>('GET', '/api/v1/namespaces');
    assert.ok(list.items.some((n) => n.metadata.name === 'default'), JSON.stringify(list));
    const review = authn.reviews.at(-1);
    assert.equal(review?.authenticated, true);
    assert.equal(review?.username, 'tide:tide-prod', 'session name tide-<cluster>, mapped through the role');
    assert.equal(review?.arn, `arn:aws:sts::${ACCOUNT}:assumed-role/tide-deployer/tide-prod`);
    // It is that user, not an admin: RBAC allows namespaces only.
    const secrets = await cluster.client.request('GET', '/api/v1/secrets');
    assert.equal(secrets.status, 403);
    assert.equal(await c.connect('prod'), cluster, 'cached per name');
  });

  test('a token signed for another cluster name is refused with 401', async () => {
    const c = clusters();
    // Same apiserver, but Tide believes the EKS cluster is called "staging": the authenticator
    // checks the signature with x-k8s-aws-id: prod, which fails.
    await c.register('wrong-name', { eks: { cluster: 'staging', roleArn: DEPLOYER, region: 'us-east-1', endpoint: kube.server, certificateAuthorityData: ca() } });
    const cluster = await c.connect('wrong-name');
    const before = authn.reviews.length;
    const res = await cluster.client.request('GET', '/api/v1/namespaces');
    assert.equal(res.status, 401);
    const reviews = authn.reviews.slice(before);
    assert.ok(reviews.length >= 1 && reviews.every((r) => !r.authenticated && /SignatureDoesNotMatch/.test(r.error ?? '')), JSON.stringify(reviews));
  });

  test('a role with no access entry is refused with 401', async () => {
    const c = clusters();
    await c.register('unmapped', { eks: { cluster: 'prod', roleArn: `arn:aws:iam::${ACCOUNT}:role/not-granted`, region: 'us-east-1', endpoint: kube.server, certificateAuthorityData: ca() } });
    const cluster = await c.connect('unmapped');
    assert.equal((await cluster.client.request('GET', '/api/v1/namespaces')).status, 401);
    assert.match(authn.reviews.at(-1)?.error ?? '', /ARN is not mapped: arn:aws:iam::123456789012:role\/not-granted/);
  });

  test('asks for a new token before the old one expires', async () => {
    let offset = 0;
    const c = clusters(() => Date.now() + offset);
    await c.register('refresh', { eks: { cluster: 'prod', roleArn: DEPLOYER, region: 'us-east-1', endpoint: kube.server, certificateAuthorityData: ca() } });
    const cluster = await c.connect('refresh');
    await cluster.client.call('GET', '/api/v1/namespaces');
    const first = authn.reviews.at(-1)?.signedAt;
    assert.ok(first);
    offset = 14 * 60_000 + 30_000; // past the token's 14 minutes, within EKS's 15
    await cluster.client.call('GET', '/api/v1/namespaces');
    const second = authn.reviews.at(-1)?.signedAt;
    assert.ok(second && second > first, `a token signed later: ${first} then ${second}`);
    assert.equal(await c.connect('refresh'), cluster, 'the same connection, refreshed in place');
  });

  test('after a 401 the client asks the provider for a new token and retries', async () => {
    // The token is made 15.5 minutes ago by the real clock (EKS no longer takes it), while Tide's
    // clock says it still has time: only the apiserver's 401 can tell.
    let offset = -15.5 * 60_000;
    const c = clusters(() => Date.now() + offset);
    await c.register('stale', { eks: { cluster: 'prod', roleArn: DEPLOYER, region: 'us-east-1', endpoint: kube.server, certificateAuthorityData: ca() } });
    const cluster = await c.connect('stale');
    offset = -2 * 60_000;
    const before = authn.reviews.length;
    const res = await cluster.client.request('GET', '/api/v1/namespaces');
    assert.equal(res.status, 200);
    const reviews = authn.reviews.slice(before);
    assert.equal(reviews[0]?.authenticated, false);
    assert.match(reviews[0]?.error ?? '', /expired/);
    assert.equal(reviews.at(-1)?.authenticated, true);
  });

  test('reads the endpoint and CA with eks:DescribeCluster when not given; the region comes from the ARN', async () => {
    const eks = new EKSClient(moto.clientConfig);
    try {
      const created = await eks.send(new CreateClusterCommand({ name: 'fleet-a', roleArn: `arn:aws:iam::${ACCOUNT}:role/eks`, resourcesVpcConfig: {} }));
      const endpoint = created.cluster?.endpoint;
      assert.ok(endpoint);
      const c = clusters();
      await c.register('fleet-a', { eks: { cluster: `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/fleet-a`, roleArn: DEPLOYER } });
      const cluster = await c.connect('fleet-a');
      assert.equal(cluster.client.server, endpoint.replace(/\/+$/, ''));

      await c.register('nowhere', { eks: { cluster: 'no-such-cluster', roleArn: DEPLOYER, region: 'us-east-1' } });
      await assert.rejects(c.connect('nowhere'), /cluster nowhere: EKS cluster no-such-cluster not found in us-east-1: check eks.cluster and eks.region/);
    } finally {
      eks.destroy();
    }
  });
});

describe('kubeconfig in Secrets Manager', () => {
  const kubeconfig = (user: string) => `apiVersion: v1
kind: Config
clusters:
- name: rig
  cluster:
    server: ${kube.server}
    certificate-authority-data: ${ca()}
users:
- name: admin
  user:
${user}
contexts:
- name: rig
  context: {cluster: rig, user: admin}
current-context: rig
`;

  test('a token kubeconfig is read, checked and used', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'tide/clusters/stored', SecretString: kubeconfig(`    token: ${kube.token}`) }));
    const c = clusters();
    await c.register('stored', { kubeconfigSecret: 'tide/clusters/stored' });
    const cluster = await c.connect('stored');
    const list = await cluster.client.call<{ items: Array<{ metadata: { name: string } }> }>('GET', '/api/v1/namespaces');
    assert.ok(list.items.some((n) => n.metadata.name === 'kube-system'));
  });

  test('an exec kubeconfig is refused, naming the cluster, the secret and the user', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'tide/clusters/exec', SecretString: kubeconfig('    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: /bin/sh\n      args: ["-c", "cat /proc/self/environ"]') }));
    const c = clusters();
    await c.register('exec', { kubeconfigSecret: 'tide/clusters/exec' });
    await assert.rejects(c.connect('exec'), (err: Error) => {
      assert.match(err.message, /^cluster exec: kubeconfig in Secrets Manager secret tide\/clusters\/exec: user "admin" has exec: /);
      assert.match(err.message, /CVE-2022-24817/);
      return true;
    });
  });

  test('a missing secret says what to create', async () => {
    const c = clusters();
    await c.register('ghost', { kubeconfigSecret: 'tide/clusters/ghost' });
    await assert.rejects(c.connect('ghost'), /cluster ghost: Secrets Manager secret tide\/clusters\/ghost \(kubeconfigSecret\) does not exist: create it/);
  });
});

describe('AssumeRole denied', () => {
  test('says which role and what to grant', async () => {
    // A second moto with IAM enforcement on: an IAM user with no policies may not assume the role.
    const strict = await startMoto();
    try {
      const res = await fetch(strict.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0' },
        body: 'Action=CreateUser&UserName=tide-function&Version=2010-05-08',
      });
      assert.equal(res.status, 200, await res.text());
      const keys = await (
        await fetch(strict.endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0' },
          body: 'Action=CreateAccessKey&UserName=tide-function&Version=2010-05-08',
        })
      ).text();
      const accessKeyId = /<AccessKeyId>([^<]+)</.exec(keys)?.[1];
      const secretAccessKey = /<SecretAccessKey>([^<]+)</.exec(keys)?.[1];
      assert.ok(accessKeyId && secretAccessKey, keys);
      const reset = await fetch(`${strict.endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' });
      assert.equal(reset.status, 200);

      const c = new AwsClusters(blobs, { clientConfig: { ...strict.clientConfig, credentials: { accessKeyId, secretAccessKey } } });
      open.push(c);
      // The registration lives in the test's own (lenient) moto's bucket; only STS is the strict one.
      await c.register('denied', { eks: { cluster: 'prod', roleArn: DEPLOYER, region: 'us-east-1', endpoint: kube.server, certificateAuthorityData: ca() } });
      await assert.rejects(c.connect('denied'), /cluster denied: sts:AssumeRole on arn:aws:iam::123456789012:role\/tide-deployer was denied: grant the function's role sts:AssumeRole on/);
    } finally {
      await strict.stop();
    }
  });
});
