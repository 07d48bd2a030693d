import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, PutBucketNotificationConfigurationCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { LambdaFunctionURLEvent, ScheduledEvent } from 'aws-lambda';
import { main } from '../../shared/cli/main.ts';
import { S3BlobStore } from '../../shared/store/s3-blob-store.ts';
import { StateStore } from '../../shared/store/state-store.ts';
import { startGitServer, type GitServer } from '../rig/git-server.ts';
import { startKube, type Kube } from '../rig/kube.ts';
import { startMoto, type Moto } from '../rig/moto.ts';
import { deploymentYaml, fleet, kustomization, yamlOf } from '../reconcile/fleet.ts';
import { markPodsReady } from '../rig/kubelet.ts';
import { createAwsInstall, lambdaContext, pumpQueues, receive, sqsEvent, type AwsInstallRig } from './aws-rig.ts';

// The serverless loop, end to end: a signed GitHub push reaches the receiver handler, whose
// request travels EventBridge (moto) to the source queue; the source handler stores the artifact
// in S3; the artifact pointer's S3 notification reaches the reconcile queue, whose handler
// requests every consumer and reconciles them against a real apiserver. Handlers run in-process
// with events shaped as AWS delivers them.
let moto: Moto;
let git: GitServer;
let kube: Kube;
let rig: AwsInstallRig;
let handlers: {
  receiver: typeof import('../../functions/receiver/handler.ts').handler;
  scheduler: typeof import('../../functions/scheduler/handler.ts').handler;
  source: typeof import('../../functions/source/handler.ts').handler;
  reconcile: typeof import('../../functions/reconcile/handler.ts').handler;
};
const TOKEN = 'whsec-e2e-7f3a9c1d5b';
const USER_BUCKET = `team-manifests-${process.pid}`;
const logs: string[] = [];
const stdoutWrite = process.stdout.write.bind(process.stdout);

const receiverYaml = yamlOf({
  apiVersion: 'notification.toolkit.fluxcd.io/v1', kind: 'Receiver', metadata: { name: 'github', namespace: 'flux-system' },
  spec: { type: 'github', events: ['ping', 'push'], secretRef: { name: 'webhook-token' }, resources: [{ kind: 'GitRepository', name: 'flux-system' }] },
});

before(async () => {
  [moto, git, kube] = await Promise.all([startMoto(), startGitServer(), startKube({ name: 'dev' })]);
  rig = await createAwsInstall(moto, { userBuckets: [USER_BUCKET] });
  Object.assign(process.env, rig.env);
  // Every log line of the handlers, kept to check what they said (and that no secret is in it)
  // rather than printed among the test results; the test runner's own output is not on stdout.write here.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = String(chunk);
    if (text.startsWith('{"level"')) {
      logs.push(text);
      return true;
    }
    return (stdoutWrite as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  handlers = {
    receiver: (await import('../../functions/receiver/handler.ts')).handler,
    scheduler: (await import('../../functions/scheduler/handler.ts')).handler,
    source: (await import('../../functions/source/handler.ts')).handler,
    reconcile: (await import('../../functions/reconcile/handler.ts')).handler,
  };
  await git.createRepo('fleet');
  await git.commit('fleet', { ...fleet(['dev']), 'clusters/dev/receiver.yaml': receiverYaml });
  // The cluster's kubeconfig and the webhook token, as an operator stores them.
  await rig.putSecret('tide/clusters/dev/kubeconfig', await readFile(kube.kubeconfigPath, 'utf8'));
  await rig.putSecret('tide/dev/flux-system/webhook-token', { token: TOKEN });
});
after(async () => {
  process.stdout.write = stdoutWrite;
  rig?.destroy();
  await Promise.all([kube?.stop(), git?.stop()]);
  await moto?.stop();
});

const pump = (budgetMs = 60_000) => pumpQueues(rig, handlers, budgetMs);

const tick = (at = new Date()) => handlers.scheduler({ time: at.toISOString(), 'detail-type': 'Scheduled Event', source: 'aws.events' } as ScheduledEvent);
const replicas = async () => (await kube.api<{ spec: { replicas: number } }>('GET', '/apis/apps/v1/namespaces/podinfo/deployments/podinfo')).body.spec?.replicas;

function pushBody(branch: string, after: string, repoUrl = git.url('fleet')) {
  return JSON.stringify({ ref: `refs/heads/${branch}`, after, repository: { full_name: 'org/fleet', clone_url: repoUrl, html_url: repoUrl.replace(/\.git$/, '') } });
}

function webhook(path: string, body: string, headers: Record<string, string>): LambdaFunctionURLEvent {
  return {
    version: '2.0', routeKey: '$default', rawPath: path, rawQueryString: '', headers: { 'content-type': 'application/json', 'user-agent': 'GitHub-Hookshot/1', ...headers },
    requestContext: { accountId: 'anonymous', apiId: 'url', domainName: 'x.lambda-url.us-east-1.on.aws', domainPrefix: 'x', http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'GitHub-Hookshot/1' }, requestId: 'r', routeKey: '$default', stage: '$default', time: '', timeEpoch: Date.now() },
    body, isBase64Encoded: false,
  } as LambdaFunctionURLEvent;
}

const sign = (body: string, token = TOKEN) => `sha256=${createHmac('sha256', token).update(body).digest('hex')}`;

/** What a CLI command printed, and its exit code. */
async function captured(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  try {
    return { code: await fn(), out: lines.join('\n') };
  } finally {
    console.log = log;
  }
}

const storeOf = () => new StateStore(new S3BlobStore({ client: rig.s3, bucket: rig.bucket }));

async function webhookPath(): Promise<string> {
  const status = await storeOf().status.get({ cluster: 'dev', namespace: 'flux-system', kind: 'Receiver', name: 'github' });
  return String(status?.value.webhookPath);
}

const visible = async () => (await receive(rig.sqs, rig.queues.source, 10)).length + (await receive(rig.sqs, rig.queues.reconcile, 10)).length;

describe('serverless: webhook to applied, through the handlers, EventBridge, SQS and S3', () => {
  it('tide aws bootstrap registers the cluster; the functions bring it to its path', async () => {
    const code = await main(['aws', 'bootstrap', '--bucket', rig.bucket, '--bus', rig.busName, '--cluster', 'dev', '--url', git.url('fleet'),
      '--kubeconfig-secret', 'tide/clusters/dev/kubeconfig', '--username', git.username, '--password', git.password]);
    assert.equal(code, 0);
    assert.ok((await pump()) >= 3, 'the bootstrap requests went through the queues');
    // The Kustomizations registered by flux-system are new: the next tick requests them; apps
    // waits for infrastructure, and a tick past its retryInterval finds it due again.
    await tick();
    await pump();
    await tick(new Date(Date.now() + 120_000));
    await pump();
    assert.equal(await replicas(), 2);
    assert.match(await webhookPath(), /^\/hook\/[0-9a-f]{64}$/);
    // What the operator sees from the state bucket: every object Ready, the receiver's path.
    const { code: got, out } = await captured(() => main(['aws', 'get', 'all', '--bucket', rig.bucket]));
    assert.equal(got, 0);
    assert.match(out, /dev\s+flux-system\s+receiver\/github\s+False\s+True\s+Receiver initialized for path: \/hook\/[0-9a-f]{64}/);
    assert.match(out, /dev\s+flux-system\s+kustomization\/apps\s+main@sha1:[0-9a-f]{40}\s+False\s+True\s+Applied revision/);
  });

  it('a signed GitHub push is applied: receiver -> source -> S3 pointer -> reconcile', async () => {
    const sha = await git.commit('fleet', { 'apps/deployment.yaml': deploymentYaml('3') });
    const body = pushBody('main', sha);
    const res = await handlers.receiver(webhook(await webhookPath(), body, { 'x-github-event': 'push', 'x-hub-signature-256': sign(body) }));
    assert.equal(res.statusCode, 202, String(res.body));
    assert.match(String(res.body), /1 reconcile\(s\) requested/);
    assert.ok((await pump()) >= 3, 'the source, the pointer event and the consumers went through the queues');
    assert.equal(await replicas(), 3);
  });

  it('a health wait longer than the function\'s budget goes on in a later invocation, not as a failure', async () => {
    const slowYaml = deploymentYaml('1').replaceAll('podinfo', 'slow').replace('namespace: slow', 'namespace: podinfo').replace('${cluster_name}', 'dev');
    const sha = await git.commit('fleet', { 'clusters/dev/slow.yaml': yamlOf(kustomization('slow', './slow', { wait: true, timeout: '5m', dependsOn: [{ name: 'infrastructure' }] })), 'slow/deployment.yaml': slowYaml });
    const body = pushBody('main', sha);
    assert.equal((await handlers.receiver(webhook(await webhookPath(), body, { 'x-github-event': 'push', 'x-hub-signature-256': sign(body) }))).statusCode, 202);
    // A 25 s budget less the 20 s margin: the wait is cut at 5 s. No kubelet runs, so the Pods are not Ready yet.
    await pump(25_000);
    const slow = { cluster: 'dev', namespace: 'flux-system', kind: 'Kustomization', name: 'slow' };
    const status = async () => (await storeOf().status.get(slow))?.value;
    const waiting = (await status())?.conditions.find((c) => c.type === 'Ready');
    assert.equal(waiting?.status, 'Unknown', JSON.stringify(waiting));
    assert.equal(waiting?.reason, 'Progressing');
    assert.match(waiting?.message ?? '', /waiting for health checks of revision main@sha1:[0-9a-f]{40}:\nDeployment\/podinfo\/slow: InProgress/);
    assert.equal(await visible(), 0, 'the continuation is a delayed message, not visible yet');
    // The kubelet's part, then the delayed request arrives and the wait finishes.
    for (let i = 0; i < 50 && (await markPodsReady(kube, 'podinfo', 'app=slow')) === 0; i++) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 5_500));
    await pump(25_000);
    const done = (await status())?.conditions.find((c) => c.type === 'Ready');
    assert.equal(done?.status, 'True', JSON.stringify(done));
    assert.equal((await status())?.lastAppliedRevision, `main@sha1:${sha}`);
  });

  it('bad webhooks reconcile nothing', async () => {
    const path = await webhookPath();
    const sha = 'a'.repeat(40);
    const good = pushBody('main', sha);
    const cases: Array<[string, LambdaFunctionURLEvent, number]> = [
      ['wrong HMAC', webhook(path, good, { 'x-github-event': 'push', 'x-hub-signature-256': sign(good, 'not-the-token') }), 401],
      ['missing signature', webhook(path, good, { 'x-github-event': 'push' }), 401],
      ['signature of another body', webhook(path, pushBody('main', 'b'.repeat(40)), { 'x-github-event': 'push', 'x-hub-signature-256': sign(good) }), 401],
      ['unknown path', webhook(`/hook/${'0'.repeat(64)}`, good, { 'x-github-event': 'push', 'x-hub-signature-256': sign(good) }), 404],
      ['huge body', webhook(path, 'x'.repeat((4 << 20) + 1), { 'x-github-event': 'push', 'x-hub-signature-256': sign('x') }), 413],
    ];
    for (const [what, event, status] of cases) {
      const res = await handlers.receiver(event);
      assert.equal(res.statusCode, status, `${what}: ${res.body}`);
      assert.ok(!String(res.body).includes(TOKEN), what);
    }
    // Validly signed, but for another repository or another branch: accepted, nothing requested.
    for (const body of [pushBody('main', sha, 'https://github.com/someone/else.git'), pushBody('feature', sha)]) {
      const res = await handlers.receiver(webhook(path, body, { 'x-github-event': 'push', 'x-hub-signature-256': sign(body) }));
      assert.equal(res.statusCode, 202);
      assert.match(String(res.body), /0 reconcile\(s\) requested/);
    }
    // A suspended Receiver says so only to a sender holding the token.
    const receiverRef = { cluster: 'dev', namespace: 'flux-system', kind: 'Receiver', name: 'github' };
    const stored = (await storeOf().objects.get(receiverRef))!.value;
    await storeOf().objects.put(receiverRef, { ...stored, spec: { ...(stored.spec as object), suspend: true } });
    try {
      assert.equal((await handlers.receiver(webhook(path, good, { 'x-github-event': 'push', 'x-hub-signature-256': sign(good, 'not-the-token') }))).statusCode, 401);
      assert.equal((await handlers.receiver(webhook(path, good, { 'x-github-event': 'push', 'x-hub-signature-256': sign(good) }))).statusCode, 503);
    } finally {
      await storeOf().objects.put(receiverRef, stored);
    }
    const ping = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
    assert.equal((await handlers.receiver(webhook(path, ping, { 'x-github-event': 'ping', 'x-hub-signature-256': sign(ping) }))).statusCode, 200);
    assert.equal(await visible(), 0, 'no request reached any queue');
    assert.ok(!logs.join('').includes(TOKEN), 'the token is in no log line');
  });

  it('two racing reconciles of one object: one applies, the other is coalesced into its next run', async () => {
    const { requestEnvelope } = await import('../../shared/serverless/envelope.ts');
    const ref = { cluster: 'dev', namespace: 'flux-system', kind: 'Kustomization', name: 'apps' };
    await kube.api('PATCH', '/apis/apps/v1/namespaces/podinfo/deployments/podinfo/scale', { spec: { replicas: 7 } }, 'application/merge-patch+json');
    const message = (id: string) => ({ MessageId: id, ReceiptHandle: id, Body: JSON.stringify(requestEnvelope(ref, 'Test', 'race', 'test')) });
    process.env.TIDE_QUEUE_URL = rig.queues.reconcile;
    const from = logs.length;
    // The second arrives while the first holds the lease (as two deliveries of a busy queue would).
    const first = handlers.reconcile(sqsEvent([message('one')]), lambdaContext());
    for (let i = 0; i < 500 && !(await storeOf().leases.holder(ref)); i++) await new Promise((r) => setTimeout(r, 5));
    const results = await Promise.all([first, handlers.reconcile(sqsEvent([message('two')]), lambdaContext())]);
    assert.deepEqual(results.map((r) => r.batchItemFailures), [[], []]);
    const said = logs.slice(from).map((l) => JSON.parse(l) as { message: string; name?: string; runs?: number }).filter((l) => l.name === 'apps');
    assert.equal(said.filter((l) => l.message.startsWith('coalesced')).length, 1, said.map((l) => l.message).join('\n'));
    const ran = said.filter((l) => /^(ready|not ready):/.test(l.message));
    assert.equal(ran.length, 1, 'exactly one invocation reconciled');
    // One run answers both when the second request came before the run began, else a second run does.
    assert.ok([1, 2].includes(ran[0]?.runs ?? 0), `runs: ${ran[0]?.runs}`);
    assert.equal(await replicas(), 3, 'drift put back');
  });

  it('a Bucket source: a write to the user\'s own bucket reaches the cluster through its S3 event', async () => {
    const cm = (level: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: team-settings\n  namespace: podinfo\ndata:\n  level: ${level}\n`;
    await rig.s3.send(new CreateBucketCommand({ Bucket: USER_BUCKET }));
    await rig.s3.send(new PutObjectCommand({ Bucket: USER_BUCKET, Key: 'deploy/settings.yaml', Body: cm('info') }));
    await rig.s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: USER_BUCKET, NotificationConfiguration: { EventBridgeConfiguration: {} } }));
    await rig.putSecret('tide/dev/flux-system/team-bucket', { accesskey: moto.credentials.accessKeyId, secretkey: moto.credentials.secretAccessKey });
    const sha = await git.commit('fleet', {
      'clusters/dev/team.yaml': yamlOf({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'Bucket', metadata: { name: 'team', namespace: 'flux-system' },
        spec: { interval: '1h', provider: 'generic', bucketName: USER_BUCKET, endpoint: new URL(moto.endpoint).host, insecure: true, prefix: 'deploy/', secretRef: { name: 'team-bucket' } } })
        + '---\n' + yamlOf({ ...kustomization('team', './deploy', { dependsOn: [{ name: 'infrastructure' }] }), spec: { ...kustomization('team', './deploy').spec, sourceRef: { kind: 'Bucket', name: 'team' } } }),
    });
    const body = pushBody('main', sha);
    assert.equal((await handlers.receiver(webhook(await webhookPath(), body, { 'x-github-event': 'push', 'x-hub-signature-256': sign(body) }))).statusCode, 202);
    await pump();
    const level = async () => (await kube.api<{ data?: { level?: string } }>('GET', '/api/v1/namespaces/podinfo/configmaps/team-settings')).body.data?.level;
    assert.equal(await level(), 'info', 'registered from Git, fetched from the bucket, applied');
    // Nobody pushes to Git now: the bucket write alone brings the change round.
    await rig.s3.send(new PutObjectCommand({ Bucket: USER_BUCKET, Key: 'deploy/settings.yaml', Body: cm('debug') }));
    assert.ok((await pump()) >= 3, 'bucket event, artifact pointer, consumer');
    assert.equal(await level(), 'debug');
  });

  it('tide aws reconcile asks the functions through the bus', async () => {
    await kube.api('PATCH', '/apis/apps/v1/namespaces/podinfo/deployments/podinfo/scale', { spec: { replicas: 9 } }, 'application/merge-patch+json');
    const { code, out } = await captured(() => main(['aws', 'reconcile', 'kustomization', 'apps', '--bucket', rig.bucket, '--bus', rig.busName]));
    assert.equal(code, 0);
    assert.match(out, /reconcile of Kustomization flux-system\/apps in cluster dev requested/);
    assert.equal(await pump(), 1);
    assert.equal(await replicas(), 3);
  });

  it('the state bucket\'s own writes other than artifact pointers request nothing', async () => {
    await rig.s3.send(new PutObjectCommand({ Bucket: rig.bucket, Key: 'clusters/dev/objects/flux-system/Kustomization/unrelated.txt', Body: 'x' }));
    assert.equal(await visible(), 0);
  });
});
