/** The records Tide keeps per control object. Later issues extend them; these are the fields every writer shares. */

/** A Kubernetes object as plain JSON (the desired spec of a control object, as registered). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** A status condition, as Flux writes them (Ready, Reconciling, Stalled). */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface ObjectStatus {
  observedGeneration?: number;
  conditions: Condition[];
  lastAppliedRevision?: string;
  lastAttemptedRevision?: string;
  lastHandledReconcileAt?: string;
  [k: string]: unknown;
}

/** One object a Kustomization applied, in Flux's inventory form (`<ns>_<name>_<group>_<kind>`). */
export interface InventoryEntry {
  id: string;
  v: string;
  [k: string]: unknown;
}

export interface Inventory {
  revision?: string;
  entries: InventoryEntry[];
}
