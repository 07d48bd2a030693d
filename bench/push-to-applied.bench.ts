// Push to applied: from a commit landing on the Git server to its objects configured in the
// cluster, for a 50-object app, as a webhook would trigger it (source reconcile, then the
// Kustomization's). Baseline: what a CI job does for the same commit: git clone --depth 1,
// kubectl kustomize, kubectl apply --server-side. p50 and p95 over 10 pushes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../shared/cli/main.ts';
import { openLocal } from '../shared/local/install.ts';
import { reconcileGitRepository } from '../shared/reconcile/git-repository.ts';
import { reconcileKustomization } from '../shared/reconcile/kustomization.ts';
import { appFiles, ciJob, pct } from './ci-job.ts';
import { startGitServer } from '../test/rig/git-server.ts';
import { startKube } from '../test/rig/kube.ts';

const PUSHES = 10;


const [kube, git] = await Promise.all([startKube({ name: 'push', controllerManager: false }), startGitServer()]);
const state = await mkdtemp(join(tmpdir(), 'tide-push-bench-'));
try {
  await git.createRepo('fleet');
  for (const ns of ['app', 'ci']) await kube.api('POST', '/api/v1/namespaces', { metadata: { name: ns } });
  await git.commit('fleet', { ...appFiles(0, 'app'), ...appFiles(0, 'ci'), 'clusters/bench/app.yaml': JSON.stringify({
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'app', namespace: 'flux-system' },
    spec: { interval: '1h', path: './app', prune: true, sourceRef: { kind: 'GitRepository', name: 'flux-system' } },
  }) });
  if ((await main(['bootstrap', '--cluster', 'bench', '--url', git.url('fleet'), '--kubeconfig', kube.kubeconfigPath, '--username', git.username, '--password', git.password, '--no-wait', '--state', state])) !== 0) throw new Error('bootstrap');
  const install = openLocal(state);
  await install.runner.once();
  const source = { cluster: 'bench', namespace: 'flux-system', kind: 'GitRepository', name: 'flux-system' };
  const ks = { cluster: 'bench', namespace: 'flux-system', kind: 'Kustomization', name: 'app' };
  const tide: number[] = [];
  const ci: number[] = [];
  for (let rev = 1; rev <= PUSHES; rev++) {
    await git.commit('fleet', appFiles(rev, 'app'));
    const t0 = performance.now();
    await reconcileGitRepository(install.ctx, source);
    const o = await reconcileKustomization(install.ctx, ks);
    if (!o.ready || !o.message.includes('ConfigMap/app/cm-0 configured')) throw new Error(`not applied: ${o.message.slice(0, 300)}`);
    tide.push(performance.now() - t0);

    await git.commit('fleet', appFiles(rev, 'ci'));
    ci.push(await ciJob(git.authUrl('fleet'), 'ci', kube.kubeconfigPath));
  }
  install.close();
  console.log(
    `push to applied, 50-object app: ${(pct(ci, 50) / pct(tide, 50)).toFixed(1)}x faster than git clone + kubectl kustomize + kubectl apply --server-side (p50)` +
      ` | Tide p50 ${pct(tide, 50).toFixed(0)} ms, p95 ${pct(tide, 95).toFixed(0)} ms | baseline p50 ${pct(ci, 50).toFixed(0)} ms, p95 ${pct(ci, 95).toFixed(0)} ms` +
      ` | ${PUSHES} pushes, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (tsx included)`,
  );
} finally {
  await kube.stop();
  await git.stop();
  await rm(state, { recursive: true, force: true });
}
