import type { StateStore } from '../store/state-store.ts';
import type { ObjectRef } from '../store/refs.ts';
import type { KustomizationSpec } from './kustomization.ts';

/** Every Kustomization of the source's cluster that reads that source (its `sourceRef`). */
export async function consumersOf(store: StateStore, source: ObjectRef): Promise<ObjectRef[]> {
  const out: ObjectRef[] = [];
  for (const item of (await store.objects.list(source.cluster, { kind: 'Kustomization' })).items) {
    const ref = (item.value.spec as KustomizationSpec | undefined)?.sourceRef;
    if (ref?.kind === source.kind && ref.name === source.name && (ref.namespace ?? item.ref.namespace) === source.namespace) out.push(item.ref);
  }
  return out;
}
