import type { RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeAccess, KubeCredentials } from './access.ts';
import { clusterFromAccess, type Cluster } from './cluster.ts';
import type { KubeClientOptions } from './client.ts';

/**
 * Access from a user's own kubeconfig, through @kubernetes/client-node: everything kubectl
 * understands (exec plugins, OIDC, token and certificate files), asked again after a 401. Local
 * mode and tests only: the functions never load a kubeconfig this way.
 */
export function accessFromKubeConfig(kc: KubeConfig): KubeAccess {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`kubeconfig has no current cluster (context ${JSON.stringify(kc.getCurrentContext())})`);
  // Worked out once and again after a 401 (an exec plugin's token expired): applyToHTTPSOptions
  // may read files and run plugins, too much for every request of a large apply.
  let cached: Promise<KubeCredentials> | undefined;
  const load = async (): Promise<KubeCredentials> => {
    const opts: RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = String(v);
    if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    const str = (v: unknown) => (v === undefined ? undefined : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
    return {
      headers,
      tls: { ca: str(opts.ca), cert: str(opts.cert), key: str(opts.key), servername: opts.servername, rejectUnauthorized: opts.rejectUnauthorized !== false },
    };
  };
  return {
    server: cluster.server.replace(/\/+$/, ''),
    credentials(refresh) {
      if (!cached || refresh) {
        cached = load();
        cached.catch(() => (cached = undefined));
      }
      return cached;
    },
  };
}

/** A Cluster from a kubeconfig file and optional context (local mode, tests). */
export function clusterFromKubeconfigFile(name: string, path: string, context?: string, options?: KubeClientOptions): Cluster {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  if (context) kc.setCurrentContext(context);
  return clusterFromKubeConfig(name, kc, options);
}

export function clusterFromKubeConfig(name: string, kc: KubeConfig, options?: KubeClientOptions): Cluster {
  return clusterFromAccess(name, accessFromKubeConfig(kc), options);
}
