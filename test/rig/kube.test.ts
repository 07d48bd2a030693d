import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeConfig, CoreV1Api } from '@kubernetes/client-node';
import { runTool } from '../../shared/tools/run-tool.ts';
import { markPodsReady } from './kubelet.ts';
import { startKube, type Kube } from './kube.ts';

// One control plane serves this whole file; each test works in its own namespace.
let kube: Kube;
before(async () => {
  kube = await startKube({ name: 'rig-main' });
});
after(async () => {
  await kube?.stop();
});

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const deployment = (ns: string, replicas = 2) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'podinfo', namespace: ns },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'podinfo' } },
    template: { metadata: { labels: { app: 'podinfo' } }, spec: { containers: [{ name: 'podinfo', image: 'ghcr.io/stefanprodan/podinfo:6.7.0' }] } },
  },
});

describe('rig: kube-apiserver', () => {
  it('is reached by the layer kubectl and by @kubernetes/client-node with the kubeconfig it wrote', async () => {
    const { stdout } = await runTool('kubectl', ['--kubeconfig', kube.kubeconfigPath, 'version', '-o', 'json']);
    const v = JSON.parse(stdout);
    assert.equal(v.serverVersion.gitVersion, 'v1.35.4');
    assert.match(v.clientVersion.gitVersion, /^v1\.35\./);
    const kc = new KubeConfig();
    kc.loadFromFile(kube.kubeconfigPath);
    const namespaces = await kc.makeApiClient(CoreV1Api).listNamespace();
    assert.ok(namespaces.items.some((n) => n.metadata?.name === 'kube-system'));
  });

  it('refuses a wrong token', async () => {
    const { stdout } = await runTool('kubectl', ['--kubeconfig', kube.kubeconfigPath, '--token', 'wrong', 'auth', 'whoami', '-o', 'json'])
      .then((r) => r, (e: Error) => ({ stdout: e.message }));
    assert.match(stdout, /Unauthorized|must be logged in/);
  });

  it('keeps CRD schema fields a typed client would drop (x-kubernetes-*, default, enum) over raw server-side apply', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.rig.tide.dev' },
      spec: {
        group: 'rig.tide.dev',
        names: { kind: 'Widget', plural: 'widgets', singular: 'widget' },
        scope: 'Namespaced',
        versions: [{
          name: 'v1', served: true, storage: true,
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: {
            type: 'object', 'x-kubernetes-preserve-unknown-fields': true,
            properties: { size: { type: 'string', enum: ['small', 'large'], default: 'small' } },
          } } } },
        }],
      },
    };
    const res = await kube.api('PATCH', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.rig.tide.dev?fieldManager=tide-rig-test', crd, 'application/apply-patch+yaml');
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const got = await kube.api<typeof crd>('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.rig.tide.dev');
    const spec = got.body.spec.versions[0]!.schema.openAPIV3Schema.properties.spec;
    assert.equal(spec['x-kubernetes-preserve-unknown-fields'], true);
    assert.deepEqual(spec.properties.size.enum, ['small', 'large']);
    assert.equal(spec.properties.size.default, 'small');
  });
});

describe('rig: kube-controller-manager', () => {
  it('finishes deleting a namespace with objects in it', async () => {
    await kube.api('POST', '/api/v1/namespaces', { metadata: { name: 'doomed' } });
    await kube.api('POST', '/api/v1/namespaces/doomed/configmaps', { metadata: { name: 'c' }, data: { a: '1' } });
    assert.equal((await kube.api('DELETE', '/api/v1/namespaces/doomed')).status, 200);
    await until('namespace doomed to be gone', async () => ((await kube.api('GET', '/api/v1/namespaces/doomed')).status === 404 ? true : undefined));
  });

  it('rolls a Deployment out to a ReplicaSet, becomes available once the rig kubelet marks Pods ready, and cascades deletion', async () => {
    await kube.api('POST', '/api/v1/namespaces', { metadata: { name: 'apps' } });
    assert.equal((await kube.api('POST', '/apis/apps/v1/namespaces/apps/deployments', deployment('apps'))).status, 201);
    type D = { metadata: { generation: number }; status?: { observedGeneration?: number; availableReplicas?: number } };
    await until('observedGeneration', async () => {
      const d = (await kube.api<D>('GET', '/apis/apps/v1/namespaces/apps/deployments/podinfo')).body;
      return d.status?.observedGeneration === d.metadata.generation ? true : undefined;
    });
    await until('two Pods', async () => ((await kube.api<{ items: unknown[] }>('GET', '/api/v1/namespaces/apps/pods')).body.items.length === 2 ? true : undefined));
    assert.equal(await markPodsReady(kube, 'apps', 'app=podinfo'), 2);
    await until('availableReplicas 2', async () =>
      (await kube.api<D>('GET', '/apis/apps/v1/namespaces/apps/deployments/podinfo')).body.status?.availableReplicas === 2 ? true : undefined);

    assert.equal((await kube.api('DELETE', '/apis/apps/v1/namespaces/apps/deployments/podinfo', { propagationPolicy: 'Background' })).status, 200);
    await until('ReplicaSets garbage-collected', async () =>
      (await kube.api<{ items: unknown[] }>('GET', '/apis/apps/v1/namespaces/apps/replicasets')).body.items.length === 0 ? true : undefined);
  });
});

describe('rig: several control planes', () => {
  it('runs a bare apiserver and a second full one beside the first, each with its own state', async () => {
    const [bare, second] = await Promise.all([startKube({ name: 'rig-bare', controllerManager: false }), startKube({ name: 'rig-second' })]);
    try {
      assert.equal(bare.daemons.length, 2, 'etcd and kube-apiserver only');
      assert.equal(second.daemons.length, 3);
      assert.notEqual(bare.server, second.server);
      await second.api('POST', '/api/v1/namespaces', { metadata: { name: 'only-here' } });
      assert.equal((await second.api('GET', '/api/v1/namespaces/only-here')).status, 200);
      assert.equal((await bare.api('GET', '/api/v1/namespaces/only-here')).status, 404);
      assert.equal((await kube.api('GET', '/api/v1/namespaces/only-here')).status, 404);
      // Without a controller manager a Deployment is never observed.
      await bare.api('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('default'));
      await new Promise((r) => setTimeout(r, 1500));
      const d = await bare.api<{ status?: { observedGeneration?: number } }>('GET', '/apis/apps/v1/namespaces/default/deployments/podinfo');
      assert.equal(d.body.status?.observedGeneration, undefined);
    } finally {
      await Promise.all([bare.stop(), second.stop()]);
    }
  });
});
