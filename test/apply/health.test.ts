import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyAll, health, waitForHealth, type Unstructured } from '../../shared/apply/index.ts';
import { markPodsReady } from '../rig/kubelet.ts';
import { deployment, owner, useCluster } from './fixture.ts';

const f = useCluster();

const obj = (apiVersion: string, kind: string, rest: Partial<Unstructured> & Record<string, unknown> = {}): Unstructured =>
  ({ apiVersion, kind, metadata: { name: 'x', namespace: 'n', generation: 1, ...(rest.metadata ?? {}) }, ...rest }) as Unstructured;

describe('health: kstatus rules', () => {
  const cases: Array<[string, Unstructured, string, RegExp?]> = [
    ['Deployment not yet observed', obj('apps/v1', 'Deployment', { spec: { replicas: 2 } }), 'InProgress'],
    ['Deployment with an old generation observed', obj('apps/v1', 'Deployment', { metadata: { name: 'x', generation: 3 }, spec: { replicas: 2 }, status: { observedGeneration: 2 } }), 'InProgress', /generation 3, observed 2/],
    ['Deployment rolling out', obj('apps/v1', 'Deployment', { spec: { replicas: 2 }, status: { observedGeneration: 1, replicas: 3, updatedReplicas: 2, availableReplicas: 2, readyReplicas: 2 } }), 'InProgress', /Pending termination: 1/],
    ['Deployment available', obj('apps/v1', 'Deployment', { spec: { replicas: 2 }, status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2, readyReplicas: 2 } }), 'Current'],
    ['Deployment past its progress deadline', obj('apps/v1', 'Deployment', { spec: { replicas: 2 }, status: { observedGeneration: 1, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "x" has timed out progressing.' }] } }), 'Failed'],
    ['StatefulSet on an old revision', obj('apps/v1', 'StatefulSet', { spec: { replicas: 1 }, status: { observedGeneration: 1, readyReplicas: 1, updatedReplicas: 1, currentRevision: 'a', updateRevision: 'b' } }), 'InProgress'],
    ['StatefulSet ready', obj('apps/v1', 'StatefulSet', { spec: { replicas: 1 }, status: { observedGeneration: 1, readyReplicas: 1, updatedReplicas: 1, currentRevision: 'b', updateRevision: 'b' } }), 'Current'],
    ['DaemonSet updating', obj('apps/v1', 'DaemonSet', { status: { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 2, numberAvailable: 3, numberReady: 3 } }), 'InProgress'],
    ['ReplicaSet failing', obj('apps/v1', 'ReplicaSet', { spec: { replicas: 1 }, status: { conditions: [{ type: 'ReplicaFailure', status: 'True', message: 'quota' }] } }), 'Failed'],
    ['Pod in CrashLoopBackOff', obj('v1', 'Pod', { status: { phase: 'Running', containerStatuses: [{ name: 'app', state: { waiting: { reason: 'CrashLoopBackOff' } } }] } }), 'InProgress', /app: CrashLoopBackOff/],
    ['Pod succeeded', obj('v1', 'Pod', { status: { phase: 'Succeeded' } }), 'Current'],
    ['Job failed', obj('batch/v1', 'Job', { status: { conditions: [{ type: 'Failed', status: 'True', message: 'BackoffLimitExceeded' }] } }), 'Failed'],
    ['Job complete', obj('batch/v1', 'Job', { status: { conditions: [{ type: 'Complete', status: 'True' }] } }), 'Current'],
    ['PVC pending', obj('v1', 'PersistentVolumeClaim', { status: { phase: 'Pending' } }), 'InProgress'],
    ['LoadBalancer without ingress', obj('v1', 'Service', { spec: { type: 'LoadBalancer' }, status: { loadBalancer: {} } }), 'InProgress'],
    ['ClusterIP Service', obj('v1', 'Service', { spec: { type: 'ClusterIP' } }), 'Current'],
    ['CRD not established', obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', { status: { conditions: [] } }), 'InProgress'],
    ['Namespace terminating', obj('v1', 'Namespace', { status: { phase: 'Terminating' } }), 'InProgress'],
    ['a custom resource Ready=False', obj('example.com/v1', 'Thing', { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'Waiting', message: 'for it' }] } }), 'InProgress', /Waiting: for it/],
    ['a custom resource Stalled', obj('example.com/v1', 'Thing', { status: { conditions: [{ type: 'Stalled', status: 'True', reason: 'InvalidSpec', message: 'bad' }] } }), 'Failed'],
    ['a ConfigMap', obj('v1', 'ConfigMap', { data: {} }), 'Current'],
  ];
  for (const [what, o, want, message] of cases) {
    it(what, () => {
      const h = health(o);
      assert.equal(h.status, want, h.message);
      if (message) assert.match(h.message, message);
    });
  }
});

describe('health: waiting on a real rollout', () => {
  it('returns what is still in progress at the deadline, then Current once the Pods run', async () => {
    const ns = await f.namespace();
    const result = await applyAll(f.cluster, [deployment(ns)], { ownerLabels: owner('apps') });
    const started = Date.now();
    const early = await waitForHealth(f.cluster, result.inventory, { deadline: Date.now() + 1500, pollMs: 200 });
    assert.ok(Date.now() - started < 5_000, 'never blocks past the deadline');
    assert.equal(early.healthy, false);
    assert.equal(early.failed, false);
    assert.deepEqual(early.pending.map((p) => p.id), result.inventory.map((e) => e.id), 'a later call can go on with these');
    assert.match(early.objects[0]?.message ?? '', /Available: 0\/2|Updated|not yet observed/);

    // Act as the kubelet once the ReplicaSet created the Pods.
    const deadline = Date.now() + 30_000;
    let marked = 0;
    while ((marked += await markPodsReady(f.kube, ns, 'app=podinfo')) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const later = await waitForHealth(f.cluster, early.pending, { deadline: Date.now() + 30_000, pollMs: 200 });
    assert.equal(later.healthy, true, JSON.stringify(later.objects));
    assert.match(later.objects[0]?.message ?? '', /Deployment is available. Replicas: 2/);
  });

  it("starts from the apply's own answers: Current objects are not read again, the rest are polled", async () => {
    const ns = await f.namespace();
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: ns }, data: { a: '1' } } as Unstructured;
    const result = await applyAll(f.cluster, [cm, deployment(ns)], { ownerLabels: owner('apps') });
    assert.equal(result.observed.size, 2, 'the apply kept what the cluster answered for each object');
    const cmId = result.inventory.find((e) => e.id.endsWith('_ConfigMap'))!.id;
    assert.equal(result.observed.get(cmId)?.metadata.resourceVersion !== undefined, true);
    // Delete the ConfigMap behind Tide's back: had the wait read it, it would say NotFound.
    assert.equal((await f.kube.api('DELETE', `/api/v1/namespaces/${ns}/configmaps/settings`)).status, 200);
    const report = await waitForHealth(f.cluster, result.inventory, { deadline: Date.now() + 1000, pollMs: 200, observed: result.observed });
    const byKind = new Map(report.objects.map((o) => [o.subject.split('/')[0], o]));
    assert.equal(byKind.get('ConfigMap')?.status, 'Current', 'judged from the apply response, no GET');
    assert.equal(byKind.get('Deployment')?.status, 'InProgress', 'a Deployment the controller has not rolled out is polled');
    assert.deepEqual(report.pending.map((p) => p.id), result.inventory.filter((e) => e.id.endsWith('_Deployment')).map((e) => e.id));
  });

  it('reports an object that is gone as failed at once', async () => {
    const report = await waitForHealth(f.cluster, [{ id: 'nowhere_missing_apps_Deployment', v: 'v1' }], { deadline: Date.now() + 10_000 });
    assert.equal(report.failed, true);
    assert.equal(report.objects[0]?.status, 'NotFound');
  });
});
