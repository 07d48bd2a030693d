import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyAll, summarize } from '../../shared/apply/index.ts';
import { configMap, deployment, owner, service, useCluster } from './fixture.ts';

const f = useCluster({ controllerManager: false });

describe('apply: create, unchanged, configured', () => {
  it('creates, then proves nothing changed with one LIST per kind and no PATCH', async () => {
    const ns = await f.namespace();
    const set = [deployment(ns), service(ns), configMap(ns, 'settings', { level: 'info' })];
    const first = await applyAll(f.cluster, set, { ownerLabels: owner('apps') });
    assert.deepEqual(first.changeSet.map((e) => [e.subject, e.action]), [
      [`Deployment/${ns}/podinfo`, 'created'], [`Service/${ns}/podinfo`, 'created'], [`ConfigMap/${ns}/settings`, 'created'],
    ]);
    assert.equal(first.failed, false);
    assert.equal(first.inventory.length, 3);
    assert.deepEqual((await f.get(`/api/v1/namespaces/${ns}/configmaps/settings`)).metadata.labels, owner('apps'));

    f.calls.length = 0;
    const second = await applyAll(f.cluster, set, { ownerLabels: owner('apps'), previous: first.inventory });
    assert.equal(summarize(second.changeSet), '3 unchanged');
    assert.deepEqual(f.calls.filter((c) => c.method !== 'GET'), [], 'no write');
    assert.equal(f.calls.length, 3, `one LIST per kind: ${JSON.stringify(f.calls)}`);
    assert.deepEqual(second.inventory, first.inventory);
  });

  it('reports which fields a change in Git configured', async () => {
    const ns = await f.namespace();
    const first = await applyAll(f.cluster, [deployment(ns), configMap(ns, 'settings', { level: 'info', keep: 'x' })], { ownerLabels: owner('apps') });
    const next = await applyAll(f.cluster, [deployment(ns, 'podinfo', 3), configMap(ns, 'settings', { level: 'debug', keep: 'x' })], { ownerLabels: owner('apps'), previous: first.inventory });
    const dep = next.changeSet.find((e) => e.subject.startsWith('Deployment'));
    assert.equal(dep?.action, 'configured');
    assert.equal(dep?.drifted, undefined);
    assert.deepEqual(dep?.fields, [{ path: 'spec.replicas', before: 2, after: 3 }]);
    const cm = next.changeSet.find((e) => e.subject.startsWith('ConfigMap'));
    assert.deepEqual(cm?.fields, [{ path: 'data.level', before: 'info', after: 'debug' }]);
    assert.equal((await f.get<{ spec: { replicas: number } }>(`/apis/apps/v1/namespaces/${ns}/deployments/podinfo`)).spec.replicas, 3);
  });

  it('hides Secret values in what it reports', async () => {
    const ns = await f.namespace();
    const secret = (v: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: ns }, stringData: { password: v } });
    const first = await applyAll(f.cluster, [secret('first-password')], { ownerLabels: owner('apps') });
    const next = await applyAll(f.cluster, [secret('second-password')], { ownerLabels: owner('apps'), previous: first.inventory });
    assert.equal(next.changeSet[0]?.action, 'configured');
    assert.deepEqual(next.changeSet[0]?.fields, [{ path: 'data.password' }], 'the path, never the values');
    for (const v of ['first-password', 'second-password']) {
      assert.ok(!JSON.stringify(next).includes(Buffer.from(v).toString('base64')), `${v} leaked`);
    }
  });

  it('works without owner labels, one GET per object', async () => {
    const ns = await f.namespace();
    const first = await applyAll(f.cluster, [configMap(ns, 'a', { x: '1' })]);
    f.calls.length = 0;
    const second = await applyAll(f.cluster, [configMap(ns, 'a', { x: '1' })], { previous: first.inventory });
    assert.equal(summarize(second.changeSet), '1 unchanged');
    assert.deepEqual(f.calls.map((c) => c.method), ['GET']);
  });
});

describe('apply: staging', () => {
  it('applies a CRD and its custom resources in one set, keeping schema fields intact', async () => {
    const ns = await f.namespace();
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'gadgets.apply.tide.dev' },
      spec: {
        group: 'apply.tide.dev',
        names: { kind: 'Gadget', plural: 'gadgets', singular: 'gadget' },
        scope: 'Namespaced',
        versions: [{
          name: 'v1', served: true, storage: true,
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { size: { type: 'string', enum: ['s', 'l'], default: 's' } } } } } },
        }],
      },
    };
    const cr = { apiVersion: 'apply.tide.dev/v1', kind: 'Gadget', metadata: { name: 'g1', namespace: ns }, spec: { colour: 'teal' } };
    // The CR comes first in the set: staging must still put the CRD first.
    const result = await applyAll(f.cluster, [cr, crd], { ownerLabels: owner('infra') });
    assert.deepEqual(result.changeSet.map((e) => e.action), ['created', 'created'], JSON.stringify(result.changeSet));
    const got = await f.get<{ spec: { colour: string; size: string } }>(`/apis/apply.tide.dev/v1/namespaces/${ns}/gadgets/g1`);
    assert.deepEqual(got.spec, { colour: 'teal', size: 's' }, 'preserved unknown field and the default');
    const liveCrd = await f.get<typeof crd>('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.apply.tide.dev');
    const spec = liveCrd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec;
    assert.equal(spec['x-kubernetes-preserve-unknown-fields'], true);
    assert.deepEqual(spec.properties.size.enum, ['s', 'l']);
  });

  it('creates a Namespace before the objects in it', async () => {
    const ns = `fresh-${Date.now() % 100000}`;
    const result = await applyAll(f.cluster, [configMap(ns, 'c', { a: '1' }), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }], { ownerLabels: owner('apps') });
    assert.deepEqual(result.changeSet.map((e) => [e.subject, e.action]), [[`ConfigMap/${ns}/c`, 'created'], [`Namespace/${ns}`, 'created']]);
  });
});

describe('apply: bad input', () => {
  it('one bad object fails itself, names itself and what to do, and the others still apply', async () => {
    const ns = await f.namespace();
    const badPort = service(ns, 'broken', 99999);
    const noNamespace = configMap('', 'homeless', { a: '1' });
    delete noNamespace.metadata.namespace;
    const unknown = { apiVersion: 'nope.tide.dev/v1', kind: 'Phantom', metadata: { name: 'p', namespace: ns } };
    const result = await applyAll(f.cluster, [configMap(ns, 'fine', { a: '1' }), badPort, noNamespace, unknown, configMap(ns, 'fine', { a: '2' })], { ownerLabels: owner('apps') });
    assert.equal(result.failed, true);
    const by = (s: string) => result.changeSet.filter((e) => e.subject === s);
    assert.equal(by(`ConfigMap/${ns}/fine`)[0]?.action, 'created');
    assert.match(by(`ConfigMap/${ns}/fine`)[1]?.reason ?? '', /appears twice in the set/);
    assert.match(by(`Service/${ns}/broken`)[0]?.reason ?? '', new RegExp(`^apply failed for v1 Service ${ns}/broken: .*spec.ports\\[0\\].port`));
    assert.match(by('ConfigMap/homeless')[0]?.reason ?? '', /apply failed for v1 ConfigMap homeless: has no metadata.namespace: set it, or the Kustomization's targetNamespace/);
    assert.match(by(`Phantom/${ns}/p`)[0]?.reason ?? '', /does not serve nope\.tide\.dev\/v1 Phantom: install its CustomResourceDefinition first/);
    assert.equal(result.inventory.length, 1);
  });

  it('dry-run reports what would change and writes nothing', async () => {
    const ns = await f.namespace();
    const result = await applyAll(f.cluster, [configMap(ns, 'dry', { a: '1' })], { ownerLabels: owner('apps'), dryRun: true });
    assert.equal(result.changeSet[0]?.action, 'created');
    assert.equal((await f.kube.api('GET', `/api/v1/namespaces/${ns}/configmaps/dry`)).status, 404);
  });
});
