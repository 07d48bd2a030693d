import type { FieldChange } from './fields.ts';

export type Action = 'created' | 'configured' | 'unchanged' | 'deleted' | 'skipped' | 'failed';

/** What happened to one object, in fluxcd/pkg ssa's ChangeSet form plus what changed and why. */
export interface ChangeSetEntry {
  /** `Kind/namespace/name`. */
  subject: string;
  apiVersion: string;
  action: Action;
  /** For configured objects: the fields that changed (values hidden for Secrets). */
  fields?: FieldChange[];
  /** Changed in the cluster by hand while the desired state did not change; put back. */
  drifted?: boolean;
  /** Why an object was skipped, recreated, or failed. */
  reason?: string;
}

export type ChangeSet = ChangeSetEntry[];

/** Counts by action, for a one-line summary: `3 created, 1 configured, 996 unchanged`. */
export function summarize(cs: ChangeSet): string {
  const counts = new Map<string, number>();
  for (const e of cs) counts.set(e.action, (counts.get(e.action) ?? 0) + 1);
  const drifted = cs.filter((e) => e.drifted).length;
  const parts = ['created', 'configured', 'unchanged', 'deleted', 'skipped', 'failed']
    .filter((a) => counts.get(a))
    .map((a) => `${counts.get(a)} ${a}`);
  if (drifted) parts.push(`${drifted} drifted`);
  return parts.join(', ') || 'nothing';
}
