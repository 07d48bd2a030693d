import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyAll, prune, PruneRefusedError, type Unstructured } from '../../shared/apply/index.ts';
import { configMap, owner, service, useCluster } from './fixture.ts';

// The controller manager runs, so a pruned Namespace really finishes terminating.
const f = useCluster();

const keepIds = (result: { inventory: Array<{ id: string }> }) => result.inventory.map((e) => e.id);

describe('prune', () => {
  it('deletes only what the previous inventory owned and the new set lacks', async () => {
    const ns = await f.namespace();
    // Not Tide's: a ConfigMap created by someone else, with no inventory entry.
    await f.kubectl('-n', ns, 'create', 'configmap', 'not-ours', '--from-literal=a=1');
    const first = await applyAll(f.cluster, [configMap(ns, 'a', { x: '1' }), configMap(ns, 'b', { x: '2' }), service(ns)], { ownerLabels: owner('apps') });
    const second = await applyAll(f.cluster, [configMap(ns, 'a', { x: '1' })], { ownerLabels: owner('apps'), previous: first.inventory });
    const pruned = await prune(f.cluster, { previous: first.inventory, keep: keepIds(second), applyFailed: second.failed, ownerLabels: owner('apps') });
    assert.deepEqual(pruned.map((e) => [e.subject, e.action]).sort(), [[`ConfigMap/${ns}/b`, 'deleted'], [`Service/${ns}/podinfo`, 'deleted']]);
    assert.equal((await f.kube.api('GET', `/api/v1/namespaces/${ns}/configmaps/b`)).status, 404);
    assert.equal((await f.kube.api('GET', `/api/v1/namespaces/${ns}/configmaps/a`)).status, 200);
    assert.equal((await f.kube.api('GET', `/api/v1/namespaces/${ns}/configmaps/not-ours`)).status, 200);
  });

  it('never deletes an object annotated prune: disabled', async () => {
    const ns = await f.namespace();
    const precious = configMap(ns, 'precious', { x: '1' });
    precious.metadata.annotations = { 'kustomize.toolkit.fluxcd.io/prune': 'disabled' };
    const first = await applyAll(f.cluster, [precious], { ownerLabels: owner('apps') });
    const pruned = await prune(f.cluster, { previous: first.inventory, keep: [], applyFailed: false, ownerLabels: owner('apps') });
    assert.equal(pruned[0]?.action, 'skipped');
    assert.match(pruned[0]?.reason ?? '', /prune: disabled/);
    assert.equal((await f.kube.api('GET', `/api/v1/namespaces/${ns}/configmaps/precious`)).status, 200);
  });

  it('refuses to run after a failed apply, and deletes nothing', async () => {
    const ns = await f.namespace();
    const first = await applyAll(f.cluster, [configMap(ns, 'a', { x: '1' }), configMap(ns, 'b', { x: '2' })], { ownerLabels: owner('apps') });
    // b left Git, and in the same change another object is broken.
    const second = await applyAll(f.cluster, [configMap(ns, 'a', { x: '1' }), service(ns, 'broken', 99999)], { ownerLabels: owner('apps'), previous: first.inventory });
    assert.equal(second.failed, true);
    await assert.rejects(
      prune(f.cluster, { previous: first.inventory, keep: keepIds(second), applyFailed: second.failed }),
      (err: Error) => err instanceof PruneRefusedError && /prune skipped: the apply failed/.test(err.message),
    );
    assert.equal((await f.kube.api('GET', `/api/v1/namespaces/${ns}/configmaps/b`)).status, 200);
  });

  it('leaves an object another owner took over, and takes an already-deleted one calmly', async () => {
    const ns = await f.namespace();
    const first = await applyAll(f.cluster, [configMap(ns, 'moved', { x: '1' }), configMap(ns, 'gone', { x: '1' })], { ownerLabels: owner('apps') });
    await f.kubectl('-n', ns, 'label', '--overwrite', 'configmap/moved', 'kustomize.toolkit.fluxcd.io/name=other');
    await f.kubectl('-n', ns, 'delete', 'configmap/gone');
    const pruned = await prune(f.cluster, { previous: first.inventory, keep: [], applyFailed: false, ownerLabels: owner('apps') });
    const by = Object.fromEntries(pruned.map((e) => [e.subject, e]));
    assert.equal(by[`ConfigMap/${ns}/moved`]?.action, 'skipped');
    assert.match(by[`ConfigMap/${ns}/moved`]?.reason ?? '', /another owner/);
    assert.equal(by[`ConfigMap/${ns}/gone`]?.action, 'skipped');
    assert.equal(by[`ConfigMap/${ns}/gone`]?.reason, 'already deleted');
    assert.equal((await f.kube.api('GET', `/api/v1/namespaces/${ns}/configmaps/moved`)).status, 200);
  });

  it('deletes what is in a Namespace first, then the Namespace, and CRDs last', async () => {
    const ns = `pruned-${Date.now() % 100000}`;
    const crd: Unstructured = {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.prune.tide.dev' },
      spec: { group: 'prune.tide.dev', scope: 'Namespaced', names: { kind: 'Widget', plural: 'widgets' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] },
    };
    const set: Unstructured[] = [
      crd,
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
      { apiVersion: 'prune.tide.dev/v1', kind: 'Widget', metadata: { name: 'w', namespace: ns } },
      configMap(ns, 'c', { a: '1' }),
    ];
    const first = await applyAll(f.cluster, set, { ownerLabels: owner('infra') });
    assert.equal(first.failed, false, JSON.stringify(first.changeSet));
    f.calls.length = 0;
    const pruned = await prune(f.cluster, { previous: first.inventory, keep: [], applyFailed: false, ownerLabels: owner('infra') });
    assert.deepEqual(pruned.map((e) => e.action), ['deleted', 'deleted', 'deleted', 'deleted']);
    const deletes = f.calls.filter((c) => c.method === 'DELETE').map((c) => c.path.split('/').slice(-2)[0]);
    assert.deepEqual(deletes.slice(-2), ['namespaces', 'customresourcedefinitions']);
    assert.deepEqual(deletes.slice(0, 2).sort(), ['configmaps', 'widgets']);
    const deadline = Date.now() + 60_000;
    while ((await f.kube.api('GET', `/api/v1/namespaces/${ns}`)).status !== 404) {
      assert.ok(Date.now() < deadline, 'the namespace finished terminating');
      await new Promise((r) => setTimeout(r, 250));
    }
  });
});
