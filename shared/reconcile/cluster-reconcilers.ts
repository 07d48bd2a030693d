import { reconcileKustomization } from './kustomization.ts';
import { reconcileReceiver } from './receiver.ts';
import type { ReconcilerTable } from './reconcilers.ts';

/** What the reconcile function (and tide local) reconciles against clusters and the store. */
export const clusterReconcilers: ReconcilerTable = { Receiver: reconcileReceiver, Kustomization: reconcileKustomization };
