import type { KubeClient } from './client.ts';

/** How a kind is served: its resource name and whether objects live in a namespace. */
export interface ResourceMapping {
  readonly apiVersion: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

interface ResourceList {
  resources: Array<{ name: string; kind: string; namespaced: boolean }>;
}

/** The kind is not served by the cluster (yet): its CRD is missing or not Established. */
export class UnknownKindError extends Error {
  override readonly name = 'UnknownKindError';
  constructor(readonly apiVersion: string, readonly kind: string) {
    super(`the cluster does not serve ${apiVersion} ${kind}: install its CustomResourceDefinition first (in the same set is fine)`);
  }
}

/**
 * Maps apiVersion/kind to resources, reading only the group versions a set uses
 * (`/api/v1`, `/apis/<group>/<version>`), cached; a group version read before its CRD existed is
 * read again on the next miss.
 */
export class Discovery {
  private readonly cache = new Map<string, Promise<Map<string, ResourceMapping> | undefined>>();

  constructor(private readonly client: KubeClient) {}

  async find(apiVersion: string, kind: string): Promise<ResourceMapping | undefined> {
    let found = (await this.groupVersion(apiVersion)).get(kind);
    if (!found) {
      this.cache.delete(apiVersion);
      found = (await this.groupVersion(apiVersion)).get(kind);
    }
    return found;
  }

  async resolve(apiVersion: string, kind: string): Promise<ResourceMapping> {
    const m = await this.find(apiVersion, kind);
    if (!m) throw new UnknownKindError(apiVersion, kind);
    return m;
  }

  /** Forget what was read, after CRDs changed. */
  invalidate(): void {
    this.cache.clear();
  }

  private async groupVersion(apiVersion: string): Promise<Map<string, ResourceMapping>> {
    let p = this.cache.get(apiVersion);
    if (!p) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      p = this.client.request<ResourceList>('GET', path).then((res) => {
        if (res.status === 404) return undefined;
        if (res.status !== 200) throw new Error(`discovery of ${apiVersion} failed: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
        const map = new Map<string, ResourceMapping>();
        for (const r of res.body.resources) {
          if (r.name.includes('/')) continue; // subresources
          map.set(r.kind, { apiVersion, kind: r.kind, plural: r.name, namespaced: r.namespaced });
        }
        return map;
      });
      this.cache.set(apiVersion, p);
      p.catch(() => this.cache.delete(apiVersion));
    }
    const map = await p;
    if (!map) this.cache.delete(apiVersion);
    return map ?? new Map();
  }
}

/** The REST path of a collection or an object. */
export function resourcePath(m: ResourceMapping, namespace?: string, name?: string): string {
  const base = m.apiVersion.includes('/') ? `/apis/${m.apiVersion}` : `/api/${m.apiVersion}`;
  const ns = m.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${m.plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}
