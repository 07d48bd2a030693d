import { listRefs } from './list-refs.ts';
import { openRemote } from './remote.ts';
import { resolveTarget, revisionOf } from './resolve-ref.ts';
import type { GitSourceSpec } from './types.ts';

/**
 * The revision spec.ref points at now, for a cheap "has anything changed?" check: one ref listing
 * (one GET of info/refs), no objects downloaded. For spec.ref.commit the commit itself is not
 * checked (a listing cannot show it); fetchArtifact does.
 */
export async function resolveRevision(spec: GitSourceSpec): Promise<{ revision: string; commit: string }> {
  const remote = openRemote(spec);
  const target = resolveTarget(remote, spec.ref, await listRefs(remote));
  return { revision: revisionOf(target, target.commit), commit: target.commit };
}
