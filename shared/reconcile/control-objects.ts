import type { Unstructured } from '../apply/object.ts';
import { digest } from '../apply/digest.ts';
import type { StateStore } from '../store/state-store.ts';
import type { KubeObject } from '../store/types.ts';

/** Objects of Flux's own API groups: Tide keeps them in its store, the cluster has no CRDs for them. */
export function isControlObject(o: Pick<Unstructured, 'apiVersion'>): boolean {
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0]! : '';
  return group.endsWith('.toolkit.fluxcd.io');
}

/**
 * Registers a rendered control object for a cluster. Its generation goes up when its spec changes,
 * as the apiserver would do, so status.observedGeneration means the same as in Flux.
 */
export async function registerControlObject(store: StateStore, cluster: string, rendered: Unstructured): Promise<'created' | 'configured' | 'unchanged'> {
  const ref = { cluster, namespace: rendered.metadata.namespace ?? '', kind: rendered.kind, name: rendered.metadata.name };
  const current = await store.objects.get(ref).catch(() => undefined);
  // `tide suspend` survives the parent's reconcile unless Git itself sets spec.suspend, as a
  // field another manager owns survives Flux's server-side apply.
  let o = rendered;
  const held = (current?.value.spec as { suspend?: boolean } | undefined)?.suspend;
  if (held !== undefined && (rendered.spec as { suspend?: boolean } | undefined)?.suspend === undefined) {
    o = { ...rendered, spec: { ...(rendered.spec as object), suspend: held } };
  }
  const strip = (x: KubeObject | Unstructured) => ({ ...x, metadata: { ...x.metadata, generation: undefined } });
  if (current && digest(strip(current.value)) === digest(strip(o))) return 'unchanged';
  const generation = ((current?.value.metadata.generation as number | undefined) ?? 0) + 1;
  await store.objects.put(ref, { ...o, metadata: { ...o.metadata, generation } } as KubeObject);
  return current ? 'configured' : 'created';
}

export async function deregisterControlObject(store: StateStore, cluster: string, ref: { namespace: string; kind: string; name: string }): Promise<void> {
  const r = { cluster, ...ref };
  await store.objects.delete(r);
  await store.status.delete(r);
  await store.inventory.delete(r);
}
