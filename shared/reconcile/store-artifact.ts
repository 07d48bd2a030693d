import { DetailType } from '../events/event.ts';
import type { ObjectRef } from '../store/refs.ts';
import type { ObjectStatus } from '../store/types.ts';
import { Reason, withReady } from './conditions.ts';
import type { ReconcileContext } from './context.ts';
import type { ArtifactStatus } from './kustomization.ts';
import { notify } from './notify.ts';
import type { Subject } from './subject.ts';

/**
 * The last step of every source reconcile that fetched a new revision: store the tarball by
 * digest, send "Source Updated", write the status, then the artifact pointer (after the status,
 * so a consumer its S3 event starts reads the new artifact), and collect older artifacts.
 */
export async function storeArtifact(
  ctx: ReconcileContext,
  ref: ObjectRef,
  subject: Subject<unknown>,
  fetched: { tarball: Uint8Array; revision: string },
  options: { extraStatus?: Partial<ObjectStatus>; logFields?: Record<string, unknown> } = {},
): Promise<string> {
  const { obj, previous, generation, now, log } = subject;
  const current = previous?.artifact as ArtifactStatus | undefined;
  const put = await ctx.store.artifacts.put(ref, fetched.tarball);
  const artifact: ArtifactStatus = { digest: put.digest, revision: fetched.revision, size: put.size, lastUpdateTime: now().toISOString() };
  const message = `stored artifact for revision '${fetched.revision}'`;
  const sent = await notify(ctx, ref, obj.apiVersion, previous, { detailType: DetailType.SourceUpdated, severity: 'info', reason: 'NewArtifact', message, revision: fetched.revision, metadata: { digest: put.digest } }, 'source');
  await ctx.store.status.update(ref, (cur): ObjectStatus => withReady(cur, 'True', Reason.ArtifactInStorage, message, now(), { generation, artifact, ...options.extraStatus, ...sent }), { replaceCorrupt: true });
  await ctx.store.artifacts.point(ref, { digest: put.digest, revision: fetched.revision });
  log.info(message, { revision: fetched.revision, digest: put.digest, uploaded: put.uploaded, ...options.logFields });
  await collectOldArtifacts(ctx, ref, [put.digest, current?.digest]);
  return message;
}

/**
 * Deletes a source's stored artifacts other than those in `keep`: a source keeps its current and
 * its previous artifact, since a Kustomization may be mid-reconcile on the previous one.
 */
export async function collectOldArtifacts(ctx: ReconcileContext, ref: ObjectRef, keep: ReadonlyArray<string | undefined>): Promise<void> {
  for (const d of await ctx.store.artifacts.list(ref)) if (!keep.includes(d)) await ctx.store.artifacts.delete(ref, d);
}
