import { clusterReconcilers } from './cluster-reconcilers.ts';
import { reconcilerIn, type ReconcilerTable } from './reconcilers.ts';
import { sourceReconcilers } from './source-reconcilers.ts';
import type { Reconciler } from './under-lease.ts';

/** Every kind Tide reconciles, for tide local and the CLI, which run all of them in one process. */
export const allReconcilers: ReconcilerTable = { ...sourceReconcilers, ...clusterReconcilers };

export function reconcilerFor(kind: string): Reconciler {
  return reconcilerIn(allReconcilers, kind);
}
