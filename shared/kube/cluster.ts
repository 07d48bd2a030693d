import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, type KubeClientOptions } from './client.ts';
import { Discovery } from './discovery.ts';

/** One registered cluster as the apply engine sees it: a raw client and its discovery cache. */
export interface Cluster {
  readonly name: string;
  readonly client: KubeClient;
  readonly discovery: Discovery;
}

/** A Cluster from a kubeconfig file and optional context (local mode, tests). */
export function clusterFromKubeconfigFile(name: string, path: string, context?: string, options?: KubeClientOptions): Cluster {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  if (context) kc.setCurrentContext(context);
  return clusterFromKubeConfig(name, kc, options);
}

export function clusterFromKubeConfig(name: string, kc: KubeConfig, options?: KubeClientOptions): Cluster {
  const client = new KubeClient(kc, options);
  return { name, client, discovery: new Discovery(client) };
}
