import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyAll, type Unstructured } from '../../shared/apply/index.ts';
import { deployment, owner, useCluster } from './fixture.ts';

// The garbage collector runs: a recreated Deployment's old ReplicaSets must go with it.
const f = useCluster();

/** The same Deployment with another selector: spec.selector is immutable. */
function reselected(ns: string): Unstructured {
  const d = deployment(ns);
  const spec = d.spec as { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> } } };
  spec.selector.matchLabels = { app: 'podinfo', tier: 'web' };
  spec.template.metadata.labels = { app: 'podinfo', tier: 'web' };
  return d;
}

describe('apply: immutable fields', () => {
  it('without force, fails that object, says what and to set force, and changes nothing', async () => {
    const ns = await f.namespace();
    const first = await applyAll(f.cluster, [deployment(ns)], { ownerLabels: owner('apps') });
    const uid = (await f.get(`/apis/apps/v1/namespaces/${ns}/deployments/podinfo`)).metadata.uid;
    const result = await applyAll(f.cluster, [reselected(ns)], { ownerLabels: owner('apps'), previous: first.inventory });
    assert.equal(result.failed, true);
    assert.match(result.changeSet[0]?.reason ?? '', new RegExp(`^apply failed for apps/v1 Deployment ${ns}/podinfo: .*field is immutable \\(set force to recreate\\)$`));
    assert.equal((await f.get(`/apis/apps/v1/namespaces/${ns}/deployments/podinfo`)).metadata.uid, uid);
  });

  it('with force, deletes and recreates the object', async () => {
    const ns = await f.namespace();
    const first = await applyAll(f.cluster, [deployment(ns)], { ownerLabels: owner('apps') });
    const uid = (await f.get(`/apis/apps/v1/namespaces/${ns}/deployments/podinfo`)).metadata.uid;
    const result = await applyAll(f.cluster, [reselected(ns)], { ownerLabels: owner('apps'), previous: first.inventory, force: true });
    assert.equal(result.failed, false, JSON.stringify(result.changeSet));
    assert.equal(result.changeSet[0]?.action, 'created');
    assert.match(result.changeSet[0]?.reason ?? '', /^recreated \(force\): .*field is immutable/);
    const live = await f.get<Unstructured & { spec: { selector: { matchLabels: Record<string, string> } } }>(`/apis/apps/v1/namespaces/${ns}/deployments/podinfo`);
    assert.notEqual(live.metadata.uid, uid);
    assert.deepEqual(live.spec.selector.matchLabels, { app: 'podinfo', tier: 'web' });
  });

  it('the kustomize.toolkit.fluxcd.io/force: enabled annotation forces one object', async () => {
    const ns = await f.namespace();
    const first = await applyAll(f.cluster, [deployment(ns)], { ownerLabels: owner('apps') });
    const d = reselected(ns);
    d.metadata.annotations = { 'kustomize.toolkit.fluxcd.io/force': 'enabled' };
    const result = await applyAll(f.cluster, [d], { ownerLabels: owner('apps'), previous: first.inventory });
    assert.equal(result.changeSet[0]?.action, 'created');
  });
});
