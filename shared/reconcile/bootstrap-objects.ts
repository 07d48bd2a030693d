import type { StateStore } from '../store/state-store.ts';
import type { KubeObject } from '../store/types.ts';

export interface BootstrapSpec {
  readonly url: string;
  readonly branch?: string;
  /** The cluster's path in the fleet repo; default `clusters/<cluster>`. */
  readonly path?: string;
  readonly interval?: string;
  /** Whether the `flux-system` secret (Git credentials) exists. */
  readonly withSecret?: boolean;
}

/**
 * The flux-system GitRepository and Kustomization of a cluster, as `flux bootstrap git --path`
 * commits them, registered in the store. Everything else comes from that path in Git.
 */
export async function registerBootstrap(store: StateStore, cluster: string, spec: BootstrapSpec): Promise<KubeObject[]> {
  const ns = 'flux-system';
  const path = (spec.path ?? `clusters/${cluster}`).replace(/^\.\//, '');
  const source: KubeObject = {
    apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'flux-system', namespace: ns, generation: 1 },
    spec: { interval: spec.interval ?? '1m', url: spec.url, ref: { branch: spec.branch ?? 'main' }, ...(spec.withSecret ? { secretRef: { name: 'flux-system' } } : {}) },
  };
  const ks: KubeObject = {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'flux-system', namespace: ns, generation: 1 },
    spec: { interval: '10m', path: `./${path}`, prune: true, sourceRef: { kind: 'GitRepository', name: 'flux-system' } },
  };
  for (const o of [source, ks]) await store.objects.put({ cluster, namespace: ns, kind: o.kind, name: o.metadata.name }, o);
  return [source, ks];
}
