import type { Reconciler } from './under-lease.ts';

/** Which reconciler runs a kind: each function bundles only its own (the source function never renders, the reconcile function never fetches). */
export type ReconcilerTable = Readonly<Record<string, Reconciler>>;

/** The reconciler of a kind in a table; an error naming the kinds it reconciles otherwise. */
export function reconcilerIn(table: ReconcilerTable, kind: string): Reconciler {
  const r = table[kind];
  if (!r) throw new Error(`kind ${kind} is not reconciled here: this function reconciles ${Object.keys(table).join(', ')}`);
  return r;
}
