import { createHash } from 'node:crypto';
import { clusterFromAccess, type Cluster } from '../kube/cluster.ts';
import { storedKubeconfigAccess } from '../kube/safe-kubeconfig.ts';
import type { ObjectRef } from '../store/refs.ts';
import type { ReconcileContext } from './context.ts';

/** spec.kubeConfig of a Kustomization (Flux's): the cluster it applies to, when not its own. */
export interface KubeConfigRef {
  secretRef?: { name: string; key?: string };
  configMapRef?: { name: string };
}

/** Connections made from kubeconfig Secrets, by the digest of the kubeconfig: one pool per distinct target. */
const remote = new Map<string, Cluster>();

/**
 * Where a Kustomization applies: its registered cluster, or (Flux's `spec.kubeConfig.secretRef`)
 * the cluster of a kubeconfig kept in the Secret of that name (key `value` or `value.yaml`, or
 * `key`), read from Tide's secret store then the cluster's. The kubeconfig is checked as any from
 * a store: no exec plugin, auth provider or file path (as kustomize-controller refuses exec
 * unless told otherwise). Throws an error naming the Secret and what to do.
 */
export async function targetCluster(ctx: ReconcileContext, ref: ObjectRef, kubeConfig: KubeConfigRef | undefined): Promise<Cluster> {
  if (!kubeConfig) return ctx.cluster(ref.cluster);
  if (kubeConfig.configMapRef) {
    throw new Error('spec.kubeConfig.configMapRef (provider-based access) is not supported: register the cluster itself (tide aws bootstrap --eks-cluster) and point a Kustomization of that cluster at the path');
  }
  const name = kubeConfig.secretRef?.name;
  if (!name) throw new Error('spec.kubeConfig needs secretRef.name');
  const data = await ctx.secrets.get({ cluster: ref.cluster, namespace: ref.namespace, kind: 'Secret', name });
  if (!data) throw new Error(`spec.kubeConfig: Secret ${ref.namespace}/${name} not found in Tide's secret store or cluster ${ref.cluster}`);
  const key = kubeConfig.secretRef?.key ?? ('value' in data ? 'value' : 'value.yaml');
  const text = data[key];
  if (!text) throw new Error(`spec.kubeConfig: Secret ${ref.namespace}/${name} has no key ${JSON.stringify(key)} (keys: ${Object.keys(data).join(', ') || 'none'})`);
  const digest = createHash('sha256').update(text).digest('hex');
  let cluster = remote.get(digest);
  if (!cluster) {
    cluster = clusterFromAccess(`${ref.cluster}/${ref.namespace}/${name}`, storedKubeconfigAccess(text, `Secret ${ref.namespace}/${name} key ${key}`));
    remote.set(digest, cluster);
  }
  return cluster;
}
