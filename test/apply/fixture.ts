import { after, before } from 'node:test';
import type { Cluster } from '../../shared/kube/cluster.ts';
import { clusterFromKubeconfigFile } from '../../shared/kube/kubeconfig.ts';
import type { Unstructured } from '../../shared/apply/index.ts';
import { runTool } from '../../shared/tools/run-tool.ts';
import { startKube, type Kube } from '../rig/kube.ts';

/**
 * One control plane per test file; each test takes a namespace of its own. `calls` records every
 * request Tide's client made (method and path), so tests can say what a reconcile cost.
 */
export interface Fixture {
  kube: Kube;
  cluster: Cluster;
  calls: Array<{ method: string; path: string }>;
  /** A fresh namespace, created. */
  namespace(prefix?: string): Promise<string>;
  kubectl(...args: string[]): Promise<string>;
  get<T = Unstructured>(path: string): Promise<T>;
}

let n = 0;

export function useCluster(options: { controllerManager?: boolean } = {}): Fixture {
  const f = { calls: [] } as unknown as Fixture;
  before(async () => {
    f.kube = await startKube({ controllerManager: options.controllerManager ?? true });
    f.cluster = clusterFromKubeconfigFile(f.kube.name, f.kube.kubeconfigPath);
    const client = f.cluster.client;
    const request = client.request.bind(client);
    client.request = ((method: string, path: string, args?: object) => {
      f.calls.push({ method, path });
      return request(method, path, args);
    }) as typeof client.request;
    f.namespace = async (prefix = 'test') => {
      const name = `${prefix}-${++n}`;
      const res = await f.kube.api('POST', '/api/v1/namespaces', { metadata: { name } });
      if (res.status !== 201) throw new Error(`creating namespace ${name}: ${res.status}`);
      return name;
    };
    f.kubectl = async (...args: string[]) => (await runTool('kubectl', ['--kubeconfig', f.kube.kubeconfigPath, ...args])).stdout;
    f.get = async <T,>(path: string) => {
      const res = await f.kube.api<T>('GET', path);
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
      return res.body;
    };
  });
  after(async () => {
    f.cluster?.client.close();
    await f.kube?.stop();
  });
  return f;
}

export const owner = (name: string) => ({ 'kustomize.toolkit.fluxcd.io/name': name, 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' });

export function deployment(ns: string, name = 'podinfo', replicas = 2, image = 'ghcr.io/stefanprodan/podinfo:6.7.0'): Unstructured {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image, ports: [{ containerPort: 9898, name: 'http' }] }] } },
    },
  };
}

export function configMap(ns: string, name: string, data: Record<string, string>): Unstructured {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data };
}

export function service(ns: string, name = 'podinfo', port = 80): Unstructured {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { selector: { app: name }, ports: [{ name: 'http', port, targetPort: 9898 }] },
  };
}
