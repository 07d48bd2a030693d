import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cluster } from '../kube/cluster.ts';
import { registerSecret } from '../redact.ts';
import { formatRef, validateRef, type ObjectRef } from '../store/refs.ts';
import type { SecretSource } from '../reconcile/context.ts';

/**
 * Tide's own secrets in local mode: `<dir>/<cluster>/<namespace>/<name>.json`, a JSON map of
 * string values (as a Secret's stringData). Every value read is registered for redaction.
 */
export class DirectorySecrets implements SecretSource {
  constructor(private readonly dir: string) {}

  async get(ref: ObjectRef): Promise<Record<string, string> | undefined> {
    validateRef(ref);
    const file = join(this.dir, ref.cluster, ref.namespace, `${ref.name}.json`);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new Error(`secret ${formatRef(ref)} in ${file} is not a JSON map of strings`);
    }
    if (!data || typeof data !== 'object' || Object.values(data).some((v) => typeof v !== 'string')) {
      throw new Error(`secret ${formatRef(ref)} in ${file} is not a JSON map of strings`);
    }
    for (const v of Object.values(data as Record<string, string>)) registerSecret(v);
    return data as Record<string, string>;
  }
}

/** A Secret of that name in the cluster itself, decoded; values registered for redaction. */
export class ClusterSecrets implements SecretSource {
  constructor(private readonly cluster: (name: string) => Promise<Cluster>) {}

  async get(ref: ObjectRef): Promise<Record<string, string> | undefined> {
    const c = await this.cluster(ref.cluster);
    const res = await c.client.request<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/secrets/${encodeURIComponent(ref.name)}`);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new Error(`reading Secret ${ref.namespace}/${ref.name} from cluster ${ref.cluster}: ${res.status}`);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.body.data ?? {})) {
      out[k] = Buffer.from(v, 'base64').toString('utf8');
      registerSecret(out[k]);
    }
    return out;
  }
}

/** Tide's own store first, then the cluster's Secret of that name. */
export class SecretChain implements SecretSource {
  constructor(private readonly sources: readonly SecretSource[]) {}

  async get(ref: ObjectRef): Promise<Record<string, string> | undefined> {
    for (const s of this.sources) {
      const v = await s.get(ref);
      if (v) return v;
    }
    return undefined;
  }
}
