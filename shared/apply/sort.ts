import { isCRD, isNamespace } from './object.ts';

interface Sortable {
  apiVersion: string;
  kind: string;
  namespaced: boolean;
}

/**
 * Apply stages, as Flux stages them: CRDs and Namespaces first, then the other cluster-scoped
 * kinds, then everything namespaced. Prune runs the other way round: namespaced objects first,
 * Namespaces and CRDs last.
 */
export function applyStage(o: Sortable): number {
  if (isCRD(o) || isNamespace(o)) return 0;
  if (!o.namespaced) return 1;
  return 2;
}

export function pruneOrder(o: Sortable): number {
  if (isCRD(o)) return 3;
  if (isNamespace(o)) return 2;
  if (!o.namespaced) return 1;
  return 0;
}
