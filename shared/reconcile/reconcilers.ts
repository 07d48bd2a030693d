import { reconcileBucket } from './bucket.ts';
import { reconcileGitRepository } from './git-repository.ts';
import { reconcileKustomization } from './kustomization.ts';
import { reconcileReceiver } from './receiver.ts';
import type { Reconciler } from './under-lease.ts';

const byKind: Record<string, Reconciler> = {
  GitRepository: reconcileGitRepository,
  Bucket: reconcileBucket,
  Receiver: reconcileReceiver,
  Kustomization: reconcileKustomization,
};

/** The reconciler of a kind; an error naming the kinds Tide reconciles otherwise. */
export function reconcilerFor(kind: string): Reconciler {
  const r = byKind[kind];
  if (!r) throw new Error(`Tide does not reconcile kind ${kind}: it reconciles ${Object.keys(byKind).join(', ')}`);
  return r;
}
