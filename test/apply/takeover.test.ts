import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { applyAll, summarize, type Unstructured } from '../../shared/apply/index.ts';
import { runTool } from '../../shared/tools/run-tool.ts';
import { configMap, owner, useCluster } from './fixture.ts';

const f = useCluster({ controllerManager: false });

const kubectlApply = (obj: Unstructured) =>
  runTool('kubectl', ['--kubeconfig', f.kube.kubeconfigPath, 'apply', '-f', '-'], { input: stringify(obj) });

describe('apply: objects kubectl applied before (client-side)', () => {
  it('takes them over: a field removed from Git is then removed from the cluster', async () => {
    const ns = await f.namespace();
    await kubectlApply(configMap(ns, 'legacy', { keep: '1', drop: '2' }));
    const before = await f.get(`/api/v1/namespaces/${ns}/configmaps/legacy`);
    assert.ok(before.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']);

    const first = await applyAll(f.cluster, [configMap(ns, 'legacy', { keep: '1' })], { ownerLabels: owner('apps') });
    assert.equal(first.failed, false);
    const live = await f.get<Unstructured & { data: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/legacy`);
    assert.deepEqual(live.data, { keep: '1' }, 'the field only kubectl had set is gone');
    assert.equal(live.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'], undefined);
    assert.deepEqual(
      (live.metadata.managedFields ?? []).map((m) => `${m.manager}/${m.operation}`),
      ['tide/Apply'],
      'no client-side manager is left',
    );
    const again = await applyAll(f.cluster, [configMap(ns, 'legacy', { keep: '1' })], { ownerLabels: owner('apps'), previous: first.inventory });
    assert.equal(summarize(again.changeSet), '1 unchanged');
  });
});

describe('apply: Flux ssa annotations', () => {
  const annotated = (ns: string, name: string, value: string, data: Record<string, string>) => {
    const cm = configMap(ns, name, data);
    cm.metadata.annotations = { 'kustomize.toolkit.fluxcd.io/ssa': value };
    return cm;
  };

  it('Ignore: never applied, reported as skipped', async () => {
    const ns = await f.namespace();
    const result = await applyAll(f.cluster, [annotated(ns, 'ignored', 'Ignore', { a: '1' })], { ownerLabels: owner('apps') });
    assert.equal(result.changeSet[0]?.action, 'skipped');
    assert.match(result.changeSet[0]?.reason ?? '', /ssa: Ignore/);
    assert.equal((await f.kube.api('GET', `/api/v1/namespaces/${ns}/configmaps/ignored`)).status, 404);
  });

  it('IfNotPresent: created once, then never changed', async () => {
    const ns = await f.namespace();
    const first = await applyAll(f.cluster, [annotated(ns, 'seed', 'IfNotPresent', { a: '1' })], { ownerLabels: owner('apps') });
    assert.equal(first.changeSet[0]?.action, 'created');
    await f.kubectl('-n', ns, 'patch', 'configmap/seed', '--type=merge', '-p', '{"data":{"a":"changed-by-app"}}');
    const second = await applyAll(f.cluster, [annotated(ns, 'seed', 'IfNotPresent', { a: '2' })], { ownerLabels: owner('apps'), previous: first.inventory });
    assert.equal(second.changeSet[0]?.action, 'skipped');
    assert.equal((await f.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/seed`)).data.a, 'changed-by-app');
  });

  it('Merge: keeps fields another tool set with kubectl', async () => {
    const ns = await f.namespace();
    await kubectlApply(configMap(ns, 'shared', { theirs: 'x' }));
    const result = await applyAll(f.cluster, [annotated(ns, 'shared', 'Merge', { ours: 'y' })], { ownerLabels: owner('apps') });
    assert.equal(result.failed, false);
    assert.deepEqual((await f.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/shared`)).data, { theirs: 'x', ours: 'y' });
  });
});
