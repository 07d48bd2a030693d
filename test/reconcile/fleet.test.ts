import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../shared/cli/main.ts';
import { openLocal, type LocalInstall } from '../../shared/local/install.ts';
import { startGitServer, type GitServer } from '../rig/git-server.ts';
import { startKube, type Kube } from '../rig/kube.ts';
import { fleet, kustomization, yamlOf } from './fleet.ts';

// Two clusters from one repo: clusters/staging and clusters/production, each its own apiserver.
let git: GitServer;
let staging: Kube;
let production: Kube;
let state: string;
let install: LocalInstall;

before(async () => {
  [git, staging, production] = await Promise.all([
    startGitServer(),
    startKube({ name: 'staging', controllerManager: false }),
    startKube({ name: 'production', controllerManager: false }),
  ]);
  state = await mkdtemp(join(tmpdir(), 'tide-fleet-'));
  await git.createRepo('fleet');
  const files = fleet(['staging', 'production']);
  // production overrides the replica count through its own substitution.
  files['clusters/production/apps.yaml'] = yamlOf(kustomization('apps', './apps', {
    dependsOn: [{ name: 'infrastructure' }],
    postBuild: { substitute: { cluster_name: 'production', replicas: '5' } },
  }));
  await git.commit('fleet', files);
});
after(async () => {
  install?.close();
  await Promise.all([staging?.stop(), production?.stop()]);
  await git?.stop();
  await rm(state, { recursive: true, force: true });
});

const bootstrap = (name: string, kube: Kube) =>
  main(['bootstrap', '--cluster', name, '--url', git.url('fleet'), '--kubeconfig', kube.kubeconfigPath, '--username', git.username, '--password', git.password, '--no-wait', '--state', state]);
const deployment = async (kube: Kube) =>
  (await kube.api<{ spec: { replicas: number }; metadata: { labels: Record<string, string> } }>('GET', '/apis/apps/v1/namespaces/podinfo/deployments/podinfo')).body;

describe('fleet: one repo, two clusters', () => {
  it('keeps each cluster equal to its own path, and the same flux-system/apps exists once per cluster', async () => {
    assert.equal(await bootstrap('staging', staging), 0);
    assert.equal(await bootstrap('production', production), 0);
    install = openLocal(state);
    const results = [...(await install.runner.once()).values()];
    assert.equal(results.length, 8, 'a GitRepository and three Kustomizations per cluster');
    assert.ok(results.every((r) => r.outcome.ready), JSON.stringify(results.map((r) => [r.ref, r.outcome.message])));
    const [s, p] = [await deployment(staging), await deployment(production)];
    assert.deepEqual([s.spec.replicas, s.metadata.labels.cluster], [2, 'staging']);
    assert.deepEqual([p.spec.replicas, p.metadata.labels.cluster], [5, 'production']);
    for (const cluster of ['staging', 'production']) {
      const st = await install.ctx.store.status.get({ cluster, namespace: 'flux-system', kind: 'Kustomization', name: 'apps' });
      assert.equal(st?.value.conditions.find((c) => c.type === 'Ready')?.status, 'True', cluster);
    }
  });

  it('a dependency that fails holds back what depends on it, in that cluster only', async () => {
    await git.commit('fleet', { 'clusters/production/infrastructure.yaml': yamlOf(kustomization('infrastructure', './nowhere')) });
    const results = [...(await install.runner.once()).values()];
    const by = (cluster: string, name: string) => results.find((r) => r.ref.cluster === cluster && r.ref.name === name)?.outcome;
    assert.match(by('production', 'infrastructure')?.message ?? '', /path "\.\/nowhere" does not exist in the source/);
    assert.equal(by('production', 'apps')?.message, "dependency 'flux-system/infrastructure' is not ready");
    assert.equal(by('staging', 'apps')?.ready, true);
  });
});
