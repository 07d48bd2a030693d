import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../shared/cli/main.ts';
import { openLocal, type LocalInstall } from '../../shared/local/install.ts';
import type { PassResult } from '../../shared/local/runner.ts';
import { startGitServer, type GitServer } from '../rig/git-server.ts';
import { startKube, type Kube } from '../rig/kube.ts';
import { deploymentYaml, kustomization, yamlOf } from './fleet.ts';

// tide local --once settles in passes: what a pass registers or changes runs in the next one, and
// nothing that is already Ready at what it should be runs twice.
let git: GitServer;
let kube: Kube;
let state: string;
let install: LocalInstall;

const appsSource = (branch: string) => ({
  apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'apps-src', namespace: 'flux-system' },
  spec: { interval: '10m', url: '', ref: { branch }, secretRef: { name: 'flux-system' } },
});

before(async () => {
  [git, kube] = await Promise.all([startGitServer(), startKube({ name: 'once', controllerManager: false })]);
  state = await mkdtemp(join(tmpdir(), 'tide-once-'));
  await git.createRepo('apps');
  await git.commit('apps', { 'README.md': 'the apps repo\n' }); // main: HEAD must name a branch that exists (see the note on isomorphic-git)
  await git.commit('apps', { 'deploy/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: podinfo}\n', 'deploy/deployment.yaml': deploymentYaml('2') }, { branch: 'v1' });
  await git.commit('apps', { 'deploy/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: podinfo}\n', 'deploy/deployment.yaml': deploymentYaml('3') }, { branch: 'v2' });
  await git.createRepo('fleet');
  const src = appsSource('v1');
  src.spec.url = git.url('apps');
  await git.commit('fleet', {
    'clusters/once/apps-src.yaml': yamlOf(src),
    'clusters/once/apps.yaml': yamlOf(kustomization('apps', './deploy', { sourceRef: { kind: 'GitRepository', name: 'apps-src' }, postBuild: { substitute: { cluster_name: 'once' } } })),
  });
  const code = await main(['bootstrap', '--cluster', 'once', '--url', git.url('fleet'), '--kubeconfig', kube.kubeconfigPath,
    '--username', git.username, '--password', git.password, '--no-wait', '--state', state]);
  assert.equal(code, 0);
  install = openLocal(state);
});
after(async () => {
  install?.close();
  await kube?.stop();
  await git?.stop();
  await rm(state, { recursive: true, force: true });
});

const replicas = async () => (await kube.api<{ spec?: { replicas: number } }>('GET', '/apis/apps/v1/namespaces/podinfo/deployments/podinfo')).body.spec?.replicas;
const runs = (seen: PassResult[], name: string) => seen.filter((r) => r.ref.name === name).length;

describe('tide local --once', () => {
  it('brings up what the bootstrap registers, in one call', async () => {
    const results = await install.runner.once();
    assert.ok([...results.values()].every((r) => r.outcome.ready), JSON.stringify([...results.values()].map((r) => [r.ref.name, r.outcome.message])));
    assert.equal(await replicas(), 2);
  });

  it('a source whose ref Git changed is fetched again and its consumers apply the new revision in the same call', async () => {
    const src = appsSource('v2');
    src.spec.url = git.url('apps');
    await git.commit('fleet', { 'clusters/once/apps-src.yaml': yamlOf(src) });
    const seen: PassResult[] = [];
    const results = await install.runner.once(10, undefined, (r) => seen.push(r));
    assert.ok([...results.values()].every((r) => r.outcome.ready));
    assert.equal(await replicas(), 3, 'apps applied the v2 branch');
    assert.equal(runs(seen, 'apps-src'), 2, 'the source ran at its old spec, then at its new one');
    assert.equal(runs(seen, 'apps'), 2, 'apps ran at the old revision, then at the new one');
    assert.equal(runs(seen, 'flux-system'), 2, 'the flux-system GitRepository and Kustomization, once each');
  });
});
