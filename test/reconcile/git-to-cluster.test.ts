import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openLocal, readEvents, type LocalInstall } from '../../shared/local/install.ts';
import { main } from '../../shared/cli/main.ts';
import { runTool } from '../../shared/tools/run-tool.ts';
import { startGitServer, type GitServer } from '../rig/git-server.ts';
import { startKube, type Kube } from '../rig/kube.ts';
import { deploymentYaml, fleet, kustomization, yamlOf } from './fleet.ts';

// The whole loop on one machine: a real Git server, a real apiserver with its controllers, and
// Tide's local mode (directory store, in-process bus) driven through its CLI and runner.
let git: GitServer;
let kube: Kube;
let state: string;
let install: LocalInstall;

before(async () => {
  [git, kube] = await Promise.all([startGitServer(), startKube({ name: 'dev' })]);
  state = await mkdtemp(join(tmpdir(), 'tide-state-'));
  await git.createRepo('fleet');
  await git.commit('fleet', fleet(['dev']));
});
after(async () => {
  install?.close();
  await kube?.stop();
  await git?.stop();
  await rm(state, { recursive: true, force: true });
});

const cli = (...args: string[]) => main([...args, '--state', state]);
/** Runs a CLI command and returns its exit code and what it printed. */
async function cliOutput(...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  try {
    const code = await cli(...args);
    return { code, out: lines.join('\n') };
  } finally {
    console.log = log;
  }
}
const replicas = async () => (await kube.api<{ spec: { replicas: number } }>('GET', '/apis/apps/v1/namespaces/podinfo/deployments/podinfo')).body.spec?.replicas;
const once = async () => {
  const results = await install.runner.once();
  return [...results.values()];
};

describe('Git to cluster, in tide local', () => {
  it('bootstraps a cluster from its path: dependencies first, variables substituted, everything Ready', async () => {
    const code = await cli('bootstrap', '--cluster', 'dev', '--url', git.url('fleet'), '--branch', 'main', '--kubeconfig', kube.kubeconfigPath,
      '--username', git.username, '--password', git.password);
    assert.equal(code, 0);
    install = openLocal(state);
    assert.equal(await replicas(), 2);
    const dep = (await kube.api<{ metadata: { labels: Record<string, string> } }>('GET', '/apis/apps/v1/namespaces/podinfo/deployments/podinfo')).body;
    assert.equal(dep.metadata.labels.cluster, 'dev', 'postBuild substitution');
    const registered = (await install.ctx.store.objects.list('dev', { kind: 'Kustomization' })).items.map((i) => i.ref.name).sort();
    assert.deepEqual(registered, ['apps', 'flux-system', 'infrastructure'], 'Flux objects are registered in Tide, not applied');
    assert.equal((await kube.api('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/kustomizations.kustomize.toolkit.fluxcd.io')).status, 404);
    const apps = (await install.ctx.store.status.get({ cluster: 'dev', namespace: 'flux-system', kind: 'Kustomization', name: 'apps' }))?.value;
    assert.match(apps?.lastAppliedRevision ?? '', /^main@sha1:[0-9a-f]{40}$/);
  });

  it('a push with replicas 3 makes it 3', async () => {
    const sha = await git.commit('fleet', { 'apps/deployment.yaml': deploymentYaml('3') });
    const results = await once();
    assert.ok(results.every((r) => r.outcome.ready), JSON.stringify(results.map((r) => r.outcome)));
    assert.equal(await replicas(), 3);
    const apps = (await install.ctx.store.status.get({ cluster: 'dev', namespace: 'flux-system', kind: 'Kustomization', name: 'apps' }))?.value;
    assert.equal(apps?.lastAppliedRevision, `main@sha1:${sha}`);
  });

  it('kubectl scale --replicas=5 is put back to 3, with a drift event', async () => {
    await runTool('kubectl', ['--kubeconfig', kube.kubeconfigPath, '-n', 'podinfo', 'scale', 'deployment/podinfo', '--replicas=5']);
    assert.equal(await cli('reconcile', 'kustomization', 'apps', '--cluster', 'dev'), 0);
    assert.equal(await replicas(), 3);
    const drift = (await readEvents(install)).filter((e) => e.detailType === 'Drift Corrected');
    assert.equal(drift.length, 1);
    assert.match(String(drift[0]?.message), /Deployment\/podinfo\/podinfo configured \(drift corrected\): spec\.replicas/);
    assert.equal((drift[0]?.involvedObject as { name: string }).name, 'apps');
  });

  it('an unchanged reconcile sends no event', async () => {
    const before = (await readEvents(install)).length;
    await once();
    assert.equal((await readEvents(install)).length, before);
  });

  it('a broken kustomization.yaml leaves the cluster untouched and says why', async () => {
    await git.commit('fleet', { 'apps/kustomization.yaml': 'resources: [deployment.yaml, settings.yaml\n', 'apps/deployment.yaml': deploymentYaml('4') });
    const results = await once();
    const apps = results.find((r) => r.ref.name === 'apps');
    assert.equal(apps?.outcome.ready, false);
    assert.match(apps?.outcome.message ?? '', /dev\/flux-system\/Kustomization\/apps: build failed for revision main@sha1:[0-9a-f]{40}: .*kustomization\.yaml is not valid YAML/);
    assert.equal(await replicas(), 3, 'nothing applied');
    assert.equal((await kube.api('GET', '/api/v1/namespaces/podinfo/configmaps/settings')).status, 200, 'nothing pruned');
    const st = (await install.ctx.store.status.get({ cluster: 'dev', namespace: 'flux-system', kind: 'Kustomization', name: 'apps' }))?.value;
    assert.equal(st?.conditions.find((c) => c.type === 'Ready')?.reason, 'BuildFailed');
    const failed = (await readEvents(install)).filter((e) => e.reason === 'BuildFailed');
    assert.equal(failed.length, 1);
    assert.match(String(failed[0]?.revision), /^main@sha1:/);
  });

  it('deleting a file prunes it, unless it is annotated prune: disabled', async () => {
    await git.commit('fleet', {
      'apps/kustomization.yaml': 'resources: [deployment.yaml]\n',
      'apps/deployment.yaml': deploymentYaml('3', '\n  annotations: {kustomize.toolkit.fluxcd.io/prune: disabled}'),
    });
    assert.ok((await once()).every((r) => r.outcome.ready));
    assert.equal((await kube.api('GET', '/api/v1/namespaces/podinfo/configmaps/settings')).status, 404, 'settings pruned');
    await git.commit('fleet', { 'apps/kustomization.yaml': 'resources: []\n' });
    assert.ok((await once()).every((r) => r.outcome.ready));
    assert.equal((await kube.api('GET', '/apis/apps/v1/namespaces/podinfo/deployments/podinfo')).status, 200, 'prune: disabled kept it');
  });

  it('an invalid interval is a Stalled status, not a crash or a hot loop', async () => {
    await git.commit('fleet', { 'clusters/dev/broken.yaml': yamlOf(kustomization('broken', './apps', { interval: 'soon' })) });
    const results = await once();
    const broken = results.find((r) => r.ref.name === 'broken');
    assert.equal(broken?.outcome.ready, false);
    assert.equal(broken?.outcome.requeueAfterMs, undefined, 'not retried until the spec changes');
    assert.match(broken?.outcome.message ?? '', /spec\.interval "soon" is not a duration/);
    const st = (await install.ctx.store.status.get({ cluster: 'dev', namespace: 'flux-system', kind: 'Kustomization', name: 'broken' }))?.value;
    assert.equal(st?.conditions.find((c) => c.type === 'Stalled')?.status, 'True');
    // Removing it from Git deregisters it.
    await git.commit('fleet', { 'clusters/dev/broken.yaml': null });
    await once();
    assert.equal(await install.ctx.store.objects.get({ cluster: 'dev', namespace: 'flux-system', kind: 'Kustomization', name: 'broken' }), undefined);
  });

  it('the CLI: get, diff, build, tree, suspend and resume', async () => {
    const got = await cliOutput('get', 'kustomizations', '--cluster', 'dev');
    assert.equal(got.code, 0);
    assert.match(got.out, /^CLUSTER\s+NAMESPACE\s+NAME\s+REVISION\s+SUSPENDED\s+READY\s+MESSAGE/);
    assert.match(got.out, /dev\s+flux-system\s+kustomization\/apps\s+main@sha1:[0-9a-f]{40}\s+False\s+True\s+Applied revision/);

    assert.equal(await cli('suspend', 'kustomization', 'apps'), 0);
    await git.commit('fleet', { 'apps/kustomization.yaml': 'resources: [deployment.yaml]\n', 'apps/deployment.yaml': deploymentYaml('4') });
    await install.runner.once();
    assert.equal(await replicas(), 3, 'a suspended Kustomization applies nothing');
    const diff = await cliOutput('diff', 'kustomization', 'apps');
    assert.match(diff.out, /1 of 1 object\(s\) would change/);
    assert.match(diff.out, /Deployment\/podinfo\/podinfo configured[\s\S]*\n\s+spec\.replicas: 3 -> 4/);
    assert.equal(await replicas(), 3, 'diff changes nothing');
    const built = await cliOutput('build', 'kustomization', 'apps');
    assert.match(built.out, /kind: Deployment[\s\S]*replicas: 4/);
    const suspended = await cliOutput('get', 'kustomizations');
    assert.match(suspended.out, /kustomization\/apps\s+\S+\s+True/);

    assert.equal(await cli('resume', 'kustomization', 'apps'), 0);
    await install.runner.once();
    assert.equal(await replicas(), 4);
    const tree = await cliOutput('tree', 'kustomization', 'flux-system');
    assert.match(tree.out, /Kustomization\/flux-system\/flux-system \(cluster dev, main@sha1:/);
    assert.match(tree.out, /Kustomization\/flux-system\/apps\s+\(registered in Tide\)/);
    const bad = await cliOutput('reconcile', 'kustomization', 'nope');
    assert.equal(bad.code, 2);
  });

  it('a source that fails keeps serving its last good artifact; the cluster Secret is the fallback for credentials', async () => {
    const secretFile = join(state, 'secrets', 'dev', 'flux-system', 'flux-system.json');
    await writeFile(secretFile, JSON.stringify({ username: git.username, password: 'wrong-password-123' }));
    const results = await once();
    const source = results.find((r) => r.ref.kind === 'GitRepository')?.outcome;
    assert.equal(source?.ready, false);
    assert.match(source?.message ?? '', /auth.*\(still serving revision main@sha1:[0-9a-f]{40}\)/i);
    assert.ok(!source?.message.includes('wrong-password-123'));
    assert.equal(results.find((r) => r.ref.name === 'apps')?.outcome.ready, true, 'consumers go on with the last artifact');

    // No secret in Tide's store: the Secret of that name in the cluster is used.
    await rm(secretFile);
    await kube.api('POST', '/api/v1/namespaces', { metadata: { name: 'flux-system' } });
    const created = await kube.api('POST', '/api/v1/namespaces/flux-system/secrets', {
      metadata: { name: 'flux-system' }, stringData: { username: git.username, password: git.password },
    });
    assert.equal(created.status, 201);
    const recovered = (await once()).find((r) => r.ref.kind === 'GitRepository')?.outcome;
    assert.equal(recovered?.ready, true, recovered?.message);
  });

  it('tide events shows outcomes; --all adds the requests between Tide\'s parts', async () => {
    const plain = await cliOutput('events', '--cluster', 'dev');
    assert.equal(plain.code, 0);
    assert.match(plain.out, /ReconciliationSucceeded\s+Kustomization\/flux-system\/apps/);
    assert.doesNotMatch(plain.out, /Registered/);
    const all = await cliOutput('events', '--cluster', 'dev', '--all');
    assert.match(all.out, /Registered\s+Kustomization\/flux-system\/apps\s+registered by dev\/flux-system\/Kustomization\/flux-system/);
  });

  it('a Flux kind Tide does not reconcile yet is registered and named in the Ready message, not silently ignored', async () => {
    await git.commit('fleet', { 'clusters/dev/podinfo-helm.yaml': yamlOf({
      apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: 'podinfo', namespace: 'flux-system' },
      spec: { interval: '10m', chart: { spec: { chart: 'podinfo', sourceRef: { kind: 'HelmRepository', name: 'podinfo' } } } },
    }) });
    const results = await once();
    const fluxSystem = results.find((r) => r.ref.name === 'flux-system' && r.ref.kind === 'Kustomization');
    assert.equal(fluxSystem?.outcome.ready, true);
    assert.match(fluxSystem?.outcome.message ?? '', /registered but not reconciled by this version of Tide: HelmRelease\/flux-system\/podinfo/);
    assert.ok(await install.ctx.store.objects.get({ cluster: 'dev', namespace: 'flux-system', kind: 'HelmRelease', name: 'podinfo' }), 'kept in the store for when it is');
  });
});
