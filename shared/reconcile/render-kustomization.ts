import type { Unstructured } from '../apply/object.ts';
import { buildKustomization, BuildError } from '../render/build.ts';
import { checkVarNames } from '../render/substitute.ts';
import type { ObjectRef } from '../store/refs.ts';
import type { KubeObject } from '../store/types.ts';
import { Reason } from './conditions.ts';
import type { ReconcileContext } from './context.ts';
import type { ArtifactStatus, KustomizationSpec } from './kustomization.ts';
import { unpackedTree } from './artifact-cache.ts';

/** Rendering failed in a phase: `reason` is Flux's (ArtifactFailed or BuildFailed). */
export class RenderError extends Error {
  override readonly name = 'RenderError';
  constructor(readonly reason: string, message: string, readonly revision?: string) {
    super(message);
  }
}

/** The objects a Kustomization renders from its source's current artifact, and that revision. */
export async function renderKustomization(ctx: ReconcileContext, ref: ObjectRef, spec: KustomizationSpec): Promise<{ revision: string; objects: Unstructured[] }> {
  const sourceRef = { cluster: ref.cluster, namespace: spec.sourceRef.namespace ?? ref.namespace, kind: spec.sourceRef.kind, name: spec.sourceRef.name };
  const sourceStatus = (await ctx.store.status.get(sourceRef).catch(() => undefined))?.value;
  const artifact = sourceStatus?.artifact as ArtifactStatus | undefined;
  if (!artifact) {
    throw new RenderError(Reason.ArtifactFailed, `Source artifact not found for ${sourceRef.kind} ${sourceRef.namespace}/${sourceRef.name}, retrying in ${spec.retryInterval ?? spec.interval}`);
  }
  const revision = artifact.revision;
  let dir: string;
  try {
    dir = await unpackedTree(artifact.digest, async () => {
      const bytes = await ctx.store.artifacts.get(sourceRef, artifact.digest);
      if (!bytes) throw new Error(`artifact ${artifact.digest} of revision ${revision} is missing from the store`);
      return bytes;
    });
  } catch (err) {
    throw new RenderError(Reason.ArtifactFailed, (err as Error).message, revision);
  }
  try {
    const vars = await substitutionVars(ctx, ref, spec);
    return { revision, objects: await buildKustomization(dir, spec, vars ? { vars } : {}) };
  } catch (err) {
    throw new RenderError(Reason.BuildFailed, `build failed for revision ${revision}: ${(err as Error).message}`, revision);
  }
}

/** postBuild variables: substituteFrom (ConfigMaps and Secrets, in order), then substitute on top. */
async function substitutionVars(ctx: ReconcileContext, ref: ObjectRef, spec: KustomizationSpec): Promise<Record<string, string> | undefined> {
  const pb = spec.postBuild;
  if (!pb?.substitute && !pb?.substituteFrom?.length) return undefined;
  const vars: Record<string, string> = {};
  for (const from of pb.substituteFrom ?? []) {
    const sref = { cluster: ref.cluster, namespace: ref.namespace, kind: from.kind, name: from.name };
    const data = from.kind === 'Secret' ? await ctx.secrets.get(sref) : await configMapData(ctx, ref.cluster, ref.namespace, from.name);
    if (!data) {
      if (from.optional) continue;
      throw new BuildError(`postBuild.substituteFrom: ${from.kind} ${ref.namespace}/${from.name} not found (set optional: true if it may be missing)`);
    }
    checkVarNames(data, `${from.kind} ${ref.namespace}/${from.name}`);
    Object.assign(vars, data);
  }
  return { ...vars, ...pb.substitute };
}

async function configMapData(ctx: ReconcileContext, clusterName: string, namespace: string, name: string): Promise<Record<string, string> | undefined> {
  const cluster = await ctx.cluster(clusterName);
  const res = await cluster.client.request<KubeObject & { data?: Record<string, string> }>('GET', `/api/v1/namespaces/${namespace}/configmaps/${name}`);
  return res.status === 200 ? res.body.data ?? {} : undefined;
}
