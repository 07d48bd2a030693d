import type { Cluster } from '../kube/cluster.ts';
import { resourcePath } from '../kube/discovery.ts';
import type { InventoryEntry } from '../store/types.ts';
import { mapLimit } from '../util/map-limit.ts';
import { pruneDisabled } from './annotations.ts';
import type { ChangeSet, ChangeSetEntry } from './changeset.ts';
import { parseInventoryId, type Unstructured } from './object.ts';
import { pruneOrder } from './sort.ts';

/** Prune was asked to run where it must not: after a failed render or apply. */
export class PruneRefusedError extends Error {
  override readonly name = 'PruneRefusedError';
}

export interface PruneOptions {
  /** What the previous inventory owned. */
  readonly previous: readonly InventoryEntry[];
  /** The ids of the new set (its inventory). */
  readonly keep: ReadonlySet<string> | readonly string[];
  /** Set when the apply of the new set failed anywhere, or the set did not render: then nothing is deleted. */
  readonly applyFailed: boolean;
  /** An object whose labels no longer match these was taken over by another owner: it is left alone. */
  readonly ownerLabels?: Readonly<Record<string, string>>;
  readonly concurrency?: number;
  readonly dryRun?: boolean;
}

/**
 * Deletes what the previous inventory owned and the new set no longer has. Never after a failed
 * apply, never an object annotated `kustomize.toolkit.fluxcd.io/prune: disabled`, never one now
 * owned by someone else. Namespaced objects go first, then cluster-scoped ones, Namespaces, and
 * CRDs last. An object already gone is fine.
 */
export async function prune(cluster: Cluster, options: PruneOptions): Promise<ChangeSet> {
  if (options.applyFailed) {
    throw new PruneRefusedError('prune skipped: the apply failed, so what left Git cannot be told from what failed to apply');
  }
  const keep = options.keep instanceof Set ? options.keep : new Set(options.keep as readonly string[]);
  const stale = options.previous.filter((e) => !keep.has(e.id));
  const targets = await mapLimit(stale, 8, async (e) => {
    const ref = parseInventoryId(e.id, e.v);
    const mapping = await cluster.discovery.find(ref.apiVersion, ref.kind);
    return { e, ref, mapping };
  });
  const changeSet: ChangeSet = [];
  const subject = (r: { kind: string; namespace: string; name: string }) => (r.namespace ? `${r.kind}/${r.namespace}/${r.name}` : `${r.kind}/${r.name}`);
  const ordered = targets
    .filter((t) => {
      if (t.mapping) return true;
      // Its kind is gone (its CRD was deleted): so is the object.
      changeSet.push({ subject: subject(t.ref), apiVersion: t.ref.apiVersion, action: 'skipped', reason: 'its kind is no longer served; nothing to delete' });
      return false;
    })
    .sort((a, b) => pruneOrder(a.mapping!) - pruneOrder(b.mapping!));

  // Each order group completes before the next starts: Namespaces and CRDs after what is in them.
  for (const stage of [0, 1, 2, 3]) {
    const group = ordered.filter((t) => pruneOrder(t.mapping!) === stage);
    const entries = await mapLimit(group, options.concurrency ?? 16, async ({ ref, mapping }): Promise<ChangeSetEntry> => {
      const base = { subject: subject(ref), apiVersion: ref.apiVersion };
      const path = resourcePath(mapping!, ref.namespace, ref.name);
      const res = await cluster.client.request<Unstructured>('GET', path);
      if (res.status === 404) return { ...base, action: 'skipped', reason: 'already deleted' };
      if (res.status !== 200) return { ...base, action: 'failed', reason: `prune failed for ${base.subject}: GET answered ${res.status}` };
      const live = res.body;
      if (pruneDisabled(live)) return { ...base, action: 'skipped', reason: 'annotated kustomize.toolkit.fluxcd.io/prune: disabled' };
      if (options.ownerLabels && Object.entries(options.ownerLabels).some(([k, v]) => live.metadata.labels?.[k] !== v)) {
        return { ...base, action: 'skipped', reason: 'its owner labels changed: another owner has it now' };
      }
      if (live.metadata.deletionTimestamp) return { ...base, action: 'deleted', reason: 'was already being deleted' };
      const del = await cluster.client.request('DELETE', path, {
        body: { propagationPolicy: 'Background', preconditions: { uid: live.metadata.uid } },
        ...(options.dryRun ? { query: { dryRun: 'All' } } : {}),
      });
      if (del.status === 200 || del.status === 202 || del.status === 404) return { ...base, action: 'deleted' };
      const msg = (del.body as { message?: string })?.message ?? String(del.status);
      return { ...base, action: 'failed', reason: `prune failed for ${base.subject}: ${msg}` };
    });
    changeSet.push(...entries);
  }
  return changeSet;
}
