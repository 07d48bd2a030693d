import type { Cluster } from '../kube/cluster.ts';
import type { EventBus } from '../events/bus.ts';
import type { Log } from '../log.ts';
import type { StateStore } from '../store/state-store.ts';
import type { ObjectRef } from '../store/refs.ts';

/** Secrets a source or a Kustomization refers to (secretRef, substituteFrom). */
export interface SecretSource {
  /** The Secret's data, decoded; undefined when there is none of that name. */
  get(ref: ObjectRef): Promise<Record<string, string> | undefined>;
}

/** What every reconcile needs, handed in by `tide local` or a Lambda handler. */
export interface ReconcileContext {
  readonly store: StateStore;
  readonly bus: EventBus;
  /** The cluster a control object belongs to, by its registered name. */
  readonly cluster: (name: string) => Promise<Cluster>;
  readonly secrets: SecretSource;
  readonly log: Log;
  readonly now?: () => Date;
  /** When this invocation must stop waiting (ms since the epoch): a Lambda's remaining budget. */
  readonly deadline?: number;
}

/** What the caller does next: reconcile again after `requeueAfterMs`, or wait for a change. */
export interface Outcome {
  readonly ready: boolean;
  readonly requeueAfterMs?: number;
  readonly message: string;
  readonly revision?: string;
  /**
   * The reconcile is not finished: it stopped at the invocation's deadline (a health wait) and
   * goes on in a later invocation after `requeueAfterMs`. Not a failure.
   */
  readonly resume?: boolean;
}
