// Webhook to applied, serverless: from a signed GitHub push webhook handed to the receiver
// handler to a 50-object app configured in the cluster, through EventBridge, SQS and S3 (moto) and
// the source and reconcile handlers, as Lambda's SQS event source mapping would run them (no
// Lambda service here: handlers run in this process). Baseline: what a CI job does for the same
// commit: git clone --depth 1, kubectl kustomize, kubectl apply --server-side. p50/p95 over 10 pushes.
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { LambdaFunctionURLEvent, ScheduledEvent } from 'aws-lambda';
import { main } from '../shared/cli/main.ts';
import { appFiles, ciJob, pct } from './ci-job.ts';
import { startGitServer } from '../test/rig/git-server.ts';
import { startKube } from '../test/rig/kube.ts';
import { startMoto } from '../test/rig/moto.ts';
import { createAwsInstall, pumpQueues } from '../test/serverless/aws-rig.ts';

const PUSHES = 10;
const TOKEN = 'bench-webhook-token';

const json = (o: unknown) => JSON.stringify(o) + '\n';

const [moto, kube, git] = await Promise.all([startMoto(), startKube({ name: 'bench', controllerManager: false }), startGitServer()]);
const rig = await createAwsInstall(moto);
Object.assign(process.env, rig.env, { TIDE_LOG_LEVEL: 'WARN' });
const receiver = (await import('../functions/receiver/handler.ts')).handler;
const scheduler = (await import('../functions/scheduler/handler.ts')).handler;
const handlers = { source: (await import('../functions/source/handler.ts')).handler, reconcile: (await import('../functions/reconcile/handler.ts')).handler };
try {
  await git.createRepo('fleet');
  for (const ns of ['app', 'ci']) await kube.api('POST', '/api/v1/namespaces', { metadata: { name: ns } });
  await git.commit('fleet', {
    ...appFiles(0, 'app'), ...appFiles(0, 'ci'),
    'clusters/bench/app.yaml': json({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'app', namespace: 'flux-system' },
      spec: { interval: '1h', path: './app', prune: true, sourceRef: { kind: 'GitRepository', name: 'flux-system' } } }),
    'clusters/bench/receiver.yaml': json({ apiVersion: 'notification.toolkit.fluxcd.io/v1', kind: 'Receiver', metadata: { name: 'github', namespace: 'flux-system' },
      spec: { type: 'github', events: ['push'], secretRef: { name: 'webhook-token' }, resources: [{ kind: 'GitRepository', name: 'flux-system' }] } }),
  });
  await rig.putSecret('tide/clusters/bench/kubeconfig', await readFile(kube.kubeconfigPath, 'utf8'));
  await rig.putSecret('tide/bench/flux-system/webhook-token', { token: TOKEN });
  const log = console.log;
  console.log = () => undefined;
  const code = await main(['aws', 'bootstrap', '--bucket', rig.bucket, '--bus', rig.busName, '--cluster', 'bench', '--url', git.url('fleet'),
    '--kubeconfig-secret', 'tide/clusters/bench/kubeconfig', '--username', git.username, '--password', git.password]);
  console.log = log;
  if (code !== 0) throw new Error('tide aws bootstrap failed');
  await pumpQueues(rig, handlers);
  await scheduler({ time: new Date().toISOString() } as ScheduledEvent);
  await pumpQueues(rig, handlers);

  const { StateStore } = await import('../shared/store/state-store.ts');
  const { S3BlobStore } = await import('../shared/store/s3-blob-store.ts');
  const store = new StateStore(new S3BlobStore({ client: rig.s3, bucket: rig.bucket }));
  const path = String((await store.status.get({ cluster: 'bench', namespace: 'flux-system', kind: 'Receiver', name: 'github' }))?.value.webhookPath);
  const rev = async (ns: string) => (await kube.api<{ data: { rev: string } }>('GET', `/api/v1/namespaces/${ns}/configmaps/cm-49`)).body.data?.rev;

  const tide: number[] = [];
  const ci: number[] = [];
  for (let r = 1; r <= PUSHES; r++) {
    const sha = await git.commit('fleet', appFiles(r, 'app'));
    const body = JSON.stringify({ ref: 'refs/heads/main', after: sha, repository: { clone_url: git.url('fleet') } });
    const event = {
      rawPath: path, headers: { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${createHmac('sha256', TOKEN).update(body).digest('hex')}` },
      requestContext: { http: { method: 'POST' } }, body, isBase64Encoded: false,
    } as unknown as LambdaFunctionURLEvent;
    const t0 = performance.now();
    const res = await receiver(event);
    if (res.statusCode !== 202) throw new Error(`receiver answered ${res.statusCode}: ${res.body}`);
    await pumpQueues(rig, handlers, 60_000, process.env.TRACE ? (q, b, ms) => console.error(`${q} ${ms.toFixed(0)} ms ${JSON.parse(b)['detail-type']} ${JSON.stringify(JSON.parse(b).detail?.involvedObject ?? JSON.parse(b).detail?.object?.key)}`) : undefined);
    if ((await rev('app')) !== String(r)) throw new Error(`push ${r} not applied`);
    tide.push(performance.now() - t0);

    await git.commit('fleet', appFiles(r, 'ci'));
    ci.push(await ciJob(git.authUrl('fleet'), 'ci', kube.kubeconfigPath));
  }
  console.log(
    `webhook to applied (serverless handlers, moto), 50-object app: ${(pct(ci, 50) / pct(tide, 50)).toFixed(1)}x faster than git clone + kubectl kustomize + kubectl apply --server-side (p50)` +
      ` | Tide p50 ${pct(tide, 50).toFixed(0)} ms, p95 ${pct(tide, 95).toFixed(0)} ms | baseline p50 ${pct(ci, 50).toFixed(0)} ms, p95 ${pct(ci, 95).toFixed(0)} ms` +
      ` | ${PUSHES} pushes, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (handlers and tsx in this process; moto apart)`,
  );
} finally {
  rig.destroy();
  await Promise.all([kube.stop(), git.stop()]);
  await moto.stop();
}
