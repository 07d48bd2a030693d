import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyAll, summarize, type AppliedEntry, type Unstructured } from '../../shared/apply/index.ts';
import { configMap, deployment, owner, service, useCluster, type Fixture } from './fixture.ts';

// The controller manager runs: its status and annotation updates must never read as drift.
const f: Fixture = useCluster();

async function appliedSet(): Promise<{ ns: string; set: Unstructured[]; inventory: AppliedEntry[] }> {
  const ns = await f.namespace('drift');
  const set = [
    deployment(ns),
    service(ns),
    { ...configMap(ns, 'settings', { level: 'info', colour: 'blue' }), metadata: { name: 'settings', namespace: ns, annotations: { team: 'web' } } },
  ];
  const first = await applyAll(f.cluster, set, { ownerLabels: owner('apps') });
  assert.equal(first.failed, false);
  return { ns, set, inventory: first.inventory };
}

/** Applies again and returns the entry for `subject`, checking the run after that is a no-op. */
async function reconcile(set: Unstructured[], inventory: AppliedEntry[]) {
  const result = await applyAll(f.cluster, set, { ownerLabels: owner('apps'), previous: inventory });
  f.calls.length = 0;
  const again = await applyAll(f.cluster, set, { ownerLabels: owner('apps'), previous: result.inventory });
  assert.equal(summarize(again.changeSet), '3 unchanged', 'the reconcile after putting drift back is a no-op');
  assert.deepEqual(f.calls.filter((c) => c.method !== 'GET'), []);
  return result;
}

describe('drift: put back what was changed by hand, and say so', () => {
  it('kubectl scale is reverted, with the field and both values', async () => {
    const { ns, set, inventory } = await appliedSet();
    await f.kubectl('-n', ns, 'scale', 'deployment/podinfo', '--replicas=5');
    const result = await reconcile(set, inventory);
    const e = result.changeSet.find((c) => c.subject === `Deployment/${ns}/podinfo`);
    assert.equal(e?.action, 'configured');
    assert.equal(e?.drifted, true);
    assert.deepEqual(e?.fields, [{ path: 'spec.replicas', before: 5, after: 2 }]);
    assert.equal((await f.get<{ spec: { replicas: number } }>(`/apis/apps/v1/namespaces/${ns}/deployments/podinfo`)).spec.replicas, 2);
    assert.equal(summarize(result.changeSet), '1 configured, 2 unchanged, 1 drifted');
  });

  it('the controller manager working on a Deployment is not drift', async () => {
    const { set, inventory } = await appliedSet();
    await new Promise((r) => setTimeout(r, 1500)); // let it write status and revision annotations
    f.calls.length = 0;
    const result = await applyAll(f.cluster, set, { ownerLabels: owner('apps'), previous: inventory });
    assert.equal(summarize(result.changeSet), '3 unchanged');
    assert.deepEqual(f.calls.filter((c) => c.method !== 'GET'), []);
  });

  it('a label a person added, which Tide does not own, is left alone and is not drift', async () => {
    const { ns, set, inventory } = await appliedSet();
    await f.kubectl('-n', ns, 'label', 'configmap/settings', 'added-by=hand');
    f.calls.length = 0;
    const result = await applyAll(f.cluster, set, { ownerLabels: owner('apps'), previous: inventory });
    assert.equal(summarize(result.changeSet), '3 unchanged');
    assert.equal((await f.get(`/api/v1/namespaces/${ns}/configmaps/settings`)).metadata.labels?.['added-by'], 'hand');
  });

  // Exactness of the fast path: every way of changing a field Tide owns, on every kind of the
  // set, is caught and put back. A benchmark that skips work is only allowed because of this.
  const mutations: Array<[string, string, (ns: string) => Promise<unknown>, (ns: string) => Promise<void>]> = [
    ['container image (kubectl set image)', 'Deployment', (ns) => f.kubectl('-n', ns, 'set', 'image', 'deployment/podinfo', 'podinfo=nginx:1.27'),
      async (ns) => assert.equal((await f.get<{ spec: { template: { spec: { containers: Array<{ image: string }> } } } }>(`/apis/apps/v1/namespaces/${ns}/deployments/podinfo`)).spec.template.spec.containers[0]?.image, 'ghcr.io/stefanprodan/podinfo:6.7.0')],
    ['a container port removed (JSON patch)', 'Deployment', (ns) => f.kubectl('-n', ns, 'patch', 'deployment/podinfo', '--type=json', '-p', '[{"op":"remove","path":"/spec/template/spec/containers/0/ports"}]'),
      async (ns) => assert.equal((await f.get<{ spec: { template: { spec: { containers: Array<{ ports?: unknown[] }> } } } }>(`/apis/apps/v1/namespaces/${ns}/deployments/podinfo`)).spec.template.spec.containers[0]?.ports?.length, 1)],
    ['replicas by another server-side applier (--force-conflicts)', 'Deployment', (ns) => f.kubectl('-n', ns, 'apply', '--server-side', '--force-conflicts', '--field-manager=intruder', '-f', '-', '--', '').catch(() =>
      f.kube.api('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/podinfo?fieldManager=intruder&force=true`, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'podinfo', namespace: ns }, spec: { replicas: 7 } }, 'application/apply-patch+yaml')),
      async (ns) => assert.equal((await f.get<{ spec: { replicas: number } }>(`/apis/apps/v1/namespaces/${ns}/deployments/podinfo`)).spec.replicas, 2)],
    ['Service port (merge patch)', 'Service', (ns) => f.kubectl('-n', ns, 'patch', 'service/podinfo', '--type=merge', '-p', '{"spec":{"ports":[{"name":"http","port":8080,"targetPort":9898}]}}'),
      async (ns) => assert.equal((await f.get<{ spec: { ports: Array<{ port: number }> } }>(`/api/v1/namespaces/${ns}/services/podinfo`)).spec.ports[0]?.port, 80)],
    ['ConfigMap data (merge patch)', 'ConfigMap', (ns) => f.kubectl('-n', ns, 'patch', 'configmap/settings', '--type=merge', '-p', '{"data":{"level":"debug"}}'),
      async (ns) => assert.equal((await f.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/settings`)).data.level, 'info')],
    ['ConfigMap key deleted (PUT replace, as kubectl edit does)', 'ConfigMap', async (ns) => {
      const cm = await f.get<Unstructured & { data: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/settings`);
      delete cm.data.colour;
      const res = await f.kube.api('PUT', `/api/v1/namespaces/${ns}/configmaps/settings`, cm);
      assert.equal(res.status, 200);
    }, async (ns) => assert.equal((await f.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/settings`)).data.colour, 'blue')],
    ['an annotation Tide owns removed', 'ConfigMap', (ns) => f.kubectl('-n', ns, 'annotate', 'configmap/settings', 'team-'),
      async (ns) => assert.equal((await f.get(`/api/v1/namespaces/${ns}/configmaps/settings`)).metadata.annotations?.team, 'web')],
    ['an owner label removed (the object leaves the LIST)', 'ConfigMap', (ns) => f.kubectl('-n', ns, 'label', 'configmap/settings', 'kustomize.toolkit.fluxcd.io/name-'),
      async (ns) => assert.equal((await f.get(`/api/v1/namespaces/${ns}/configmaps/settings`)).metadata.labels?.['kustomize.toolkit.fluxcd.io/name'], 'apps')],
    ['the object deleted', 'ConfigMap', (ns) => f.kubectl('-n', ns, 'delete', 'configmap/settings'),
      async (ns) => assert.equal((await f.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/settings`)).data.level, 'info')],
  ];
  for (const [what, kind, mutate, restored] of mutations) {
    it(`catches and reverts: ${what}`, async () => {
      const { ns, set, inventory } = await appliedSet();
      await mutate(ns);
      const result = await reconcile(set, inventory);
      const e = result.changeSet.find((c) => c.subject.startsWith(`${kind}/`));
      assert.ok(e && (e.action === 'configured' || e.action === 'created'), `${what}: ${JSON.stringify(result.changeSet)}`);
      assert.equal(e.drifted, true, what);
      await restored(ns);
    });
  }
});
