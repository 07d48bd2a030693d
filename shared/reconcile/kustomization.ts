import { applyAll } from '../apply/apply.ts';
import type { ChangeSet } from '../apply/changeset.ts';
import { inventoryId, parseInventoryId, type Unstructured } from '../apply/object.ts';
import { prune, PruneRefusedError } from '../apply/prune.ts';
import { waitForHealth } from '../apply/wait.ts';
import { DetailType } from '../events/event.ts';
import { reconcileRequest } from '../events/requests.ts';
import type { BuildSpec } from '../render/build.ts';
import { checkVarNames } from '../render/substitute.ts';
import { formatRef, type ObjectRef } from '../store/refs.ts';
import type { InventoryEntry } from '../store/types.ts';
import { isReady, Reason, withReady } from './conditions.ts';
import type { Outcome, ReconcileContext } from './context.ts';
import { deregisterControlObject, isControlObject, registerControlObject } from './control-objects.ts';
import { DurationError, parseDuration, parseInterval } from './duration.ts';
import { notify, type Notice } from './notify.ts';
import { notRegistered, openSubject } from './subject.ts';
import { renderKustomization, type RenderError } from './render-kustomization.ts';
import { RECONCILED_KINDS } from './schedule.ts';
import { targetCluster, type KubeConfigRef } from './target-cluster.ts';

/** spec of kustomize.toolkit.fluxcd.io/v1 Kustomization, the fields Tide reads. */
export interface KustomizationSpec extends BuildSpec {
  interval: string;
  retryInterval?: string;
  timeout?: string;
  sourceRef: { kind: string; name: string; namespace?: string };
  prune: boolean;
  wait?: boolean;
  healthChecks?: Array<{ apiVersion?: string; kind: string; name: string; namespace?: string }>;
  dependsOn?: Array<{ name: string; namespace?: string }>;
  suspend?: boolean;
  force?: boolean;
  /** Apply to another cluster than the Kustomization's own (Flux's remote cluster). */
  kubeConfig?: KubeConfigRef;
  postBuild?: {
    substitute?: Record<string, string>;
    substituteFrom?: Array<{ kind: 'ConfigMap' | 'Secret'; name: string; optional?: boolean }>;
  };
}

/** The source artifact a source reconcile recorded in its status. */
export interface ArtifactStatus {
  digest: string;
  revision: string;
  size?: number;
  lastUpdateTime?: string;
}

const CONTROLLER = 'reconcile';

/**
 * Reconciles one Kustomization of one cluster, in Flux's steps: check the spec, wait for
 * dependencies, fetch the source artifact, build, apply (registering Flux's own objects in the
 * store instead), prune, check health, write status. Each failure sets Ready=False with that
 * phase's reason and never prunes; events go out on change or recovery only.
 */
export async function reconcileKustomization(ctx: ReconcileContext, ref: ObjectRef): Promise<Outcome> {
  const subject = await openSubject<KustomizationSpec>(ctx, ref, CONTROLLER);
  if (!subject) return notRegistered(ref);
  const { obj, spec, generation, previous, log, now, fail } = subject;
  if (spec.suspend) return { ready: isReady(previous), message: 'suspended' };

  // The spec: a bad duration is Stalled (no retry until the spec changes), never a hot loop.
  let interval: number;
  let retry: number;
  let timeout: number;
  try {
    interval = parseInterval(spec.interval, 'spec.interval');
    retry = spec.retryInterval ? parseInterval(spec.retryInterval, 'spec.retryInterval') : interval;
    timeout = spec.timeout ? parseDuration(spec.timeout, 'spec.timeout') : interval;
    if (!spec.sourceRef?.name || !spec.sourceRef.kind) throw new DurationError('spec.sourceRef needs kind and name');
    if (spec.postBuild?.substitute) checkVarNames(spec.postBuild.substitute, 'spec.postBuild.substitute');
  } catch (err) {
    return fail(Reason.InvalidSpec, `${formatRef(ref)}: ${(err as Error).message}`, { stalled: true });
  }

  // Dependencies: each Ready at its current generation.
  for (const dep of spec.dependsOn ?? []) {
    const depRef = { cluster: ref.cluster, namespace: dep.namespace ?? ref.namespace, kind: 'Kustomization', name: dep.name };
    const [depObj, depStatus] = await Promise.all([ctx.store.objects.get(depRef).catch(() => undefined), ctx.store.status.get(depRef).catch(() => undefined)]);
    const depGen = (depObj?.value.metadata.generation as number | undefined) ?? 1;
    if (!depObj || !isReady(depStatus?.value) || (depStatus?.value.observedGeneration ?? 0) < depGen) {
      return fail(Reason.DependencyNotReady, `dependency '${depRef.namespace}/${dep.name}' is not ready`, { retryMs: retry });
    }
  }

  // The source's artifact, built.
  let objects: Unstructured[];
  let revision: string;
  try {
    ({ revision, objects } = await renderKustomization(ctx, ref, spec));
  } catch (err) {
    const e = err as RenderError;
    return fail(e.reason ?? Reason.ArtifactFailed, `${formatRef(ref)}: ${e.message}`, { revision: e.revision, retryMs: retry });
  }

  // Apply: Flux's own kinds go to the store, everything else to the cluster.
  const ownerLabels = { 'kustomize.toolkit.fluxcd.io/name': ref.name, 'kustomize.toolkit.fluxcd.io/namespace': ref.namespace };
  const prevInventory = (await ctx.store.inventory.get(ref).catch(() => undefined))?.value.entries ?? [];
  const controls = objects.filter(isControlObject);
  const workload = objects.filter((o) => !isControlObject(o));
  let cluster;
  try {
    cluster = await targetCluster(ctx, ref, spec.kubeConfig);
  } catch (err) {
    return fail(Reason.ReconciliationFailed, `${formatRef(ref)}: cluster ${ref.cluster}: ${(err as Error).message}`, { revision, retryMs: retry });
  }
  const applied = await applyAll(cluster, workload, { ownerLabels, previous: prevInventory.filter((e) => !e.control), force: spec.force === true });
  const changeSet: ChangeSet = [...applied.changeSet];
  const controlEntries: InventoryEntry[] = [];
  const controlChanges: ObjectRef[] = [];
  for (const c of controls) {
    if (!c.metadata?.namespace) {
      changeSet.push({ subject: `${c.kind}/${c.metadata?.name}`, apiVersion: c.apiVersion, action: 'failed', reason: `${c.kind} ${c.metadata?.name} has no metadata.namespace` });
      continue;
    }
    const action = await registerControlObject(ctx.store, ref.cluster, c);
    if (action !== 'unchanged') controlChanges.push({ cluster: ref.cluster, namespace: c.metadata.namespace, kind: c.kind, name: c.metadata.name });
    changeSet.push({ subject: `${c.kind}/${c.metadata.namespace}/${c.metadata.name}`, apiVersion: c.apiVersion, action });
    controlEntries.push({ id: inventoryId(c), v: c.apiVersion.split('/')[1] ?? c.apiVersion, control: true });
  }
  await requestRegistered(ctx, ref, controlChanges);
  const failed = changeSet.filter((e) => e.action === 'failed');
  const newEntries: InventoryEntry[] = [...applied.inventory, ...controlEntries];

  if (failed.length > 0) {
    // Keep owning what the previous inventory had and what did apply, so nothing leaks from prune later.
    const union = new Map<string, InventoryEntry>(prevInventory.map((e) => [e.id, e]));
    for (const e of newEntries) union.set(e.id, e);
    await ctx.store.inventory.put(ref, { revision, entries: [...union.values()] });
    const message = `${failed.length} object(s) failed to apply for revision ${revision}; nothing was pruned:\n${failed.map((f) => f.reason).join('\n')}`;
    return fail(Reason.ReconciliationFailed, message, { revision, retryMs: retry });
  }
  await ctx.store.inventory.put(ref, { revision, entries: newEntries });

  // Prune what left Git (and deregister Flux objects that left it).
  if (spec.prune) {
    try {
      const keep = new Set(newEntries.map((e) => e.id));
      changeSet.push(...(await prune(cluster, { previous: prevInventory.filter((e) => !e.control), keep, applyFailed: false, ownerLabels })));
      for (const e of prevInventory.filter((x) => x.control && !keep.has(x.id))) {
        const r = parseInventoryId(e.id, e.v);
        await deregisterControlObject(ctx.store, ref.cluster, { namespace: r.namespace, kind: r.kind, name: r.name });
        changeSet.push({ subject: `${r.kind}/${r.namespace}/${r.name}`, apiVersion: r.apiVersion, action: 'deleted' });
      }
    } catch (err) {
      if (!(err instanceof PruneRefusedError)) return fail(Reason.PruneFailed, `prune failed for revision ${revision}: ${(err as Error).message}`, { revision, retryMs: retry });
    }
    const pruneFailed = changeSet.filter((e) => e.action === 'failed');
    if (pruneFailed.length) return fail(Reason.PruneFailed, pruneFailed.map((f) => f.reason).join('\n'), { revision, retryMs: retry });
  }

  // Health: wait within this invocation's budget; a longer wait continues in a later one.
  if (spec.wait || spec.healthChecks?.length) {
    const targets = spec.wait
      ? applied.inventory
      : (spec.healthChecks ?? []).map((h) => ({ id: inventoryId({ apiVersion: h.apiVersion ?? 'v1', kind: h.kind, metadata: { name: h.name, namespace: h.namespace ?? ref.namespace } }), v: (h.apiVersion ?? 'v1').split('/').pop()! }));
    const started = (previous?.healthWait as { revision?: string; since?: number } | undefined)?.revision === revision
      ? (previous!.healthWait as { since: number }).since : now().getTime();
    const timeoutAt = started + timeout;
    const report = await waitForHealth(cluster, targets, { deadline: Math.min(timeoutAt, ctx.deadline ?? timeoutAt), pollMs: 2000, observed: applied.observed });
    if (!report.healthy) {
      const waiting = report.objects.filter((o) => o.status !== 'Current').map((o) => `${o.subject}: ${o.status}: ${o.message}`).join('\n');
      if (!report.failed && now().getTime() < timeoutAt) {
        // The budget ran out before the timeout: go on later, not a failure.
        await ctx.store.status.update(ref, (cur) => withReady(cur, 'Unknown', Reason.Progressing, `waiting for health checks of revision ${revision}:\n${waiting}`, now(), {
          generation, lastAttemptedRevision: revision, healthWait: { revision, since: started },
        }), { replaceCorrupt: true });
        return { ready: false, message: 'health checks in progress', revision, requeueAfterMs: 5_000, resume: true };
      }
      return fail(Reason.HealthCheckFailed, `health check failed after ${spec.timeout ?? spec.interval} for revision ${revision}:\n${waiting}`, { revision, retryMs: retry, extra: { healthWait: undefined } });
    }
  }

  // Success: an event only when something changed, or on recovery.
  const changed = changeSet.filter((e) => e.action !== 'unchanged' && e.action !== 'skipped');
  const recovered = previous !== undefined && !isReady(previous);
  // Flux kinds Tide keeps in its store but does not act on yet: say so, rather than let them sit unnoticed.
  const idle = controls.filter((c) => !(RECONCILED_KINDS as readonly string[]).includes(c.kind)).map((c) => `${c.kind}/${c.metadata?.namespace}/${c.metadata?.name}`);
  const message = `Applied revision: ${revision}${idle.length ? `; registered but not reconciled by this version of Tide: ${idle.slice(0, 5).join(', ')}${idle.length > 5 ? ` and ${idle.length - 5} more` : ''}` : ''}`;
  if (idle.length) log.warn(`${idle.length} registered object(s) of kinds Tide does not reconcile yet (it reconciles ${RECONCILED_KINDS.join(', ')})`, { objects: idle.slice(0, 20) });
  let sent: { lastEventDigest?: string } = {};
  if (changed.length > 0 || recovered || !previous || previous.lastAppliedRevision !== revision) {
    const lines = describeChanges(changed);
    const drifted = changed.filter((e) => e.drifted);
    const notice: Notice = drifted.length > 0 && previous?.lastAppliedRevision === revision
      ? { detailType: DetailType.DriftCorrected, severity: 'info', reason: Reason.ReconciliationSucceeded, message: `drift corrected for revision ${revision}:\n${lines.join('\n')}`, revision }
      : { detailType: DetailType.ReconcileSucceeded, severity: 'info', reason: Reason.ReconciliationSucceeded, message: lines.length ? `${message}\n${lines.join('\n')}` : message, revision };
    sent = await notify(ctx, ref, obj.apiVersion, previous, notice, CONTROLLER);
  }
  log.info(message, { revision, changed: changed.length, unchanged: changeSet.length - changed.length });
  await ctx.store.status.update(ref, (cur) => withReady(cur, 'True', Reason.ReconciliationSucceeded, message, now(), {
    generation, lastAppliedRevision: revision, lastAttemptedRevision: revision, healthWait: undefined, ...sent,
  }), { replaceCorrupt: true });
  return { ready: true, message: [message, ...describeChanges(changed)].join('\n'), revision, requeueAfterMs: interval };
}

/** One line per changed object: `Deployment/podinfo/podinfo configured (drift corrected): spec.replicas`. */
function describeChanges(changed: ChangeSet): string[] {
  return changed.map((e) => `${e.subject} ${e.action}${e.drifted ? ' (drift corrected)' : ''}${e.fields?.length ? `: ${e.fields.map((f) => f.path).join(', ')}` : ''}`);
}


/**
 * Control objects this reconcile created or changed are reconciled now, as Flux's controllers
 * react to a new generation at once, rather than at the scheduler's next tick. Best effort: the
 * scheduler finds them due (a new generation) if the request is lost.
 */
async function requestRegistered(ctx: ReconcileContext, parent: ObjectRef, refs: ObjectRef[]): Promise<void> {
  const wanted = refs.filter((r) => (RECONCILED_KINDS as readonly string[]).includes(r.kind));
  if (!wanted.length) return;
  try {
    await ctx.bus.publish(wanted.map((r) => reconcileRequest(r, 'Registered', `registered by ${formatRef(parent)}`, CONTROLLER)));
  } catch (err) {
    ctx.log.warn(`requests for ${wanted.length} registered object(s) not sent; the scheduler will find them: ${(err as Error).message}`, { cluster: parent.cluster, namespace: parent.namespace, kind: parent.kind, name: parent.name });
  }
}
