import type { KubeAccess } from './access.ts';
import { KubeClient, type KubeClientOptions } from './client.ts';
import { Discovery } from './discovery.ts';

/** One registered cluster as the apply engine sees it: a raw client and its discovery cache. */
export interface Cluster {
  readonly name: string;
  readonly client: KubeClient;
  readonly discovery: Discovery;
}

export function clusterFromAccess(name: string, access: KubeAccess, options?: KubeClientOptions): Cluster {
  const client = new KubeClient(access, options);
  return { name, client, discovery: new Discovery(client) };
}
