import type { Log } from '../log.ts';
import type { InventoryEntry } from '../store/types.ts';
import { apiError, type KubeResponse } from '../kube/client.ts';
import type { Cluster } from '../kube/cluster.ts';
import { resourcePath, type ResourceMapping } from '../kube/discovery.ts';
import { mapLimit } from '../util/map-limit.ts';
import { forceEnabled, ssaPolicy } from './annotations.ts';
import type { ChangeSet, ChangeSetEntry } from './changeset.ts';
import { digest } from './digest.ts';
import { changedFields, ownedFields, project, unionFields, type FieldChange } from './fields.ts';
import { describeObject, groupOf, inventoryId, isCRD, subjectOf, versionOf, type ManagedFieldsEntry, type Unstructured } from './object.ts';
import { applyStage } from './sort.ts';

export const DEFAULT_FIELD_MANAGER = 'tide';

/**
 * Hand edits: what `kubectl apply` (client-side), `create`, `edit`, `patch`, `label`, `set` ...
 * leave behind as Update managers. Tide takes their fields over before applying, so that what
 * they added is removed and what they removed comes back (`ssa: Merge` opts out). Controllers'
 * managers are never touched.
 */
function isHandEdit(e: ManagedFieldsEntry): boolean {
  const m = e.manager ?? '';
  return e.operation === 'Update' && !e.subresource && (m === 'kubectl' || m.startsWith('kubectl-') || m === 'before-first-apply');
}

/** An inventory entry as the apply engine keeps it: what was sent and what the cluster held after. */
export interface AppliedEntry extends InventoryEntry {
  /** Digest of the desired object as sent. */
  desired: string;
  /** Digest of the live object projected onto the fields Tide's manager owns, as the apply returned it. */
  live: string;
}

export interface ApplyOptions {
  /** Tide's field manager; default `tide`. */
  readonly fieldManager?: string;
  /** Delete and recreate objects whose update an immutable field refuses; default false. */
  readonly force?: boolean;
  /** PATCH requests in flight at once; default 16. */
  readonly concurrency?: number;
  /** The previous inventory, with digests: objects proven unchanged are not sent again. */
  readonly previous?: readonly InventoryEntry[];
  /**
   * Labels Tide sets on every object it applies (the Kustomization's identity). The cluster is
   * read with one LIST per kind selected by them; without them, one GET per object.
   */
  readonly ownerLabels?: Readonly<Record<string, string>>;
  /** How long to wait for CRDs of the set to be Established; default 60 s. */
  readonly crdTimeoutMs?: number;
  /** Ask the apiserver what would change (dryRun=All) and write nothing. */
  readonly dryRun?: boolean;
  readonly log?: Log;
}

export interface ApplyResult {
  readonly changeSet: ChangeSet;
  /** The new inventory (every object now owned), with digests for the next run's fast path. */
  readonly inventory: AppliedEntry[];
  /** True when any object failed: the caller must not prune. */
  readonly failed: boolean;
  /**
   * Each applied object as the cluster last answered it in this run (the apply's response, or
   * the LIST that proved it unchanged), by inventory id: a health check can start from these
   * instead of reading every object again. Dry runs leave it empty.
   */
  readonly observed: ReadonlyMap<string, Unstructured>;
}

interface Item {
  obj: Unstructured;
  id: string;
  desired: string;
  mapping?: ResourceMapping;
  entry?: ChangeSetEntry;
  applied?: AppliedEntry;
  /** The object as the cluster last returned it. */
  live?: Unstructured;
}

/**
 * Server-side applies a set of objects, staged like Flux: CRDs and Namespaces, then other
 * cluster-scoped kinds (after the CRDs are Established), then namespaced objects. Returns a
 * change set with every object's action. One bad object fails only itself; `failed` says so.
 */
export async function applyAll(cluster: Cluster, objects: readonly Unstructured[], options: ApplyOptions = {}): Promise<ApplyResult> {
  const manager = options.fieldManager ?? DEFAULT_FIELD_MANAGER;
  const previous = new Map((options.previous ?? []).map((e) => [e.id, e as Partial<AppliedEntry>]));
  const items = prepare(objects, options.ownerLabels);

  // Resolve kinds; kinds defined by CRDs of this same set resolve after those are Established.
  const crdKinds = new Map<string, Unstructured>();
  for (const it of items) {
    if (!it.entry && isCRD(it.obj)) {
      const spec = it.obj.spec as { group?: string; names?: { kind?: string } } | undefined;
      if (spec?.group && spec.names?.kind) crdKinds.set(`${spec.group}/${spec.names.kind}`, it.obj);
    }
  }
  const deferred: Item[] = [];
  await mapLimit(items, 8, async (it) => {
    if (it.entry) return;
    const m = await cluster.discovery.find(it.obj.apiVersion, it.obj.kind);
    if (m) return setMapping(it, m);
    if (crdKinds.has(`${groupOf(it.obj.apiVersion)}/${it.obj.kind}`)) return void deferred.push(it);
    fail(it, `the cluster does not serve ${it.obj.apiVersion} ${it.obj.kind}: install its CustomResourceDefinition first (in the same set is fine)`);
  });

  const ready = items.filter((it) => !it.entry && it.mapping);
  const ctx: Ctx = { cluster, manager, previous, options };
  await applyStageItems(ctx, ready.filter((it) => applyStage(it.mapping!) === 0));
  await applyStageItems(ctx, ready.filter((it) => applyStage(it.mapping!) === 1));

  if (deferred.length > 0) {
    const crds = items.filter((it) => isCRD(it.obj) && it.entry && it.entry.action !== 'failed');
    const problem = options.dryRun ? undefined : await waitEstablished(ctx, crds);
    cluster.discovery.invalidate();
    for (const it of deferred) {
      if (problem) {
        fail(it, problem);
        continue;
      }
      const m = options.dryRun ? undefined : await cluster.discovery.find(it.obj.apiVersion, it.obj.kind);
      if (m) setMapping(it, m);
      else if (options.dryRun) it.entry = { subject: subjectOf(it.obj), apiVersion: it.obj.apiVersion, action: 'created', reason: 'its CRD is created by this set' };
      else fail(it, `the cluster does not serve ${it.obj.apiVersion} ${it.obj.kind} although its CRD was applied`);
    }
    await applyStageItems(ctx, deferred.filter((it) => !it.entry && it.mapping && applyStage(it.mapping) === 1));
  }
  await applyStageItems(ctx, [...ready, ...deferred].filter((it) => !it.entry && it.mapping && applyStage(it.mapping) === 2));

  const changeSet = items.map((it) => it.entry!);
  const inventory = items.filter((it) => it.applied).map((it) => it.applied!);
  const observed = new Map(options.dryRun ? [] : items.filter((it) => it.applied && it.live).map((it) => [it.id, it.live!] as const));
  return { changeSet, inventory, failed: changeSet.some((e) => e.action === 'failed'), observed };
}

interface Ctx {
  cluster: Cluster;
  manager: string;
  previous: Map<string, Partial<AppliedEntry>>;
  options: ApplyOptions;
}

function prepare(objects: readonly Unstructured[], ownerLabels: Readonly<Record<string, string>> | undefined): Item[] {
  const seen = new Set<string>();
  return objects.map((input) => {
    const obj = structuredClone(input);
    const it: Item = { obj, id: '', desired: '' };
    const problem = invalid(obj);
    if (problem) {
      it.entry = { subject: describeLoose(obj), apiVersion: String(obj?.apiVersion ?? ''), action: 'failed', reason: problem };
      return it;
    }
    if (ownerLabels && Object.keys(ownerLabels).length > 0) obj.metadata.labels = { ...obj.metadata.labels, ...ownerLabels };
    secretStringDataToData(obj);
    it.id = inventoryId(obj);
    if (seen.has(it.id)) fail(it, 'appears twice in the set; each object must be rendered once');
    seen.add(it.id);
    return it;
  });
}

/**
 * A Secret's stringData is write-only: the apiserver stores it as data, so a manager owning
 * stringData would never see its values again, and a hand edit of data would go unnoticed.
 * Like Flux, apply it as data.
 */
function secretStringDataToData(o: Unstructured): void {
  if (o.apiVersion !== 'v1' || o.kind !== 'Secret' || !o.stringData || typeof o.stringData !== 'object') return;
  const data = { ...((o.data as Record<string, string>) ?? {}) };
  for (const [k, v] of Object.entries(o.stringData as Record<string, string>)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  o.data = data;
  delete o.stringData;
}

function invalid(o: Unstructured): string | undefined {
  if (!o || typeof o !== 'object') return 'is not an object';
  if (typeof o.apiVersion !== 'string' || !o.apiVersion) return 'has no apiVersion';
  if (typeof o.kind !== 'string' || !o.kind) return 'has no kind';
  if (!o.metadata || typeof o.metadata.name !== 'string' || !o.metadata.name) return 'has no metadata.name';
  return undefined;
}

function describeLoose(o: Partial<Unstructured>): string {
  return `${o?.kind ?? '<no kind>'}/${o?.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o?.metadata?.name ?? '<no name>'}`;
}

function setMapping(it: Item, m: ResourceMapping): void {
  it.mapping = m;
  if (!m.namespaced) {
    delete it.obj.metadata.namespace;
    it.id = inventoryId(it.obj);
  } else if (!it.obj.metadata.namespace) {
    return fail(it, 'has no metadata.namespace: set it, or the Kustomization\'s targetNamespace');
  }
  it.desired = digest(it.obj);
}

function fail(it: Item, message: string): void {
  it.entry = {
    subject: subjectOf(it.obj),
    apiVersion: it.obj.apiVersion,
    action: 'failed',
    reason: `apply failed for ${describeObject(it.obj)}: ${message}`,
  };
}

async function applyStageItems(ctx: Ctx, items: Item[]): Promise<void> {
  if (items.length === 0) return;
  const live = await observe(ctx, items);
  await mapLimit(items, ctx.options.concurrency ?? 16, async (it) => {
    try {
      await applyOne(ctx, it, live);
    } catch (err) {
      // A network error or a wait that ran out fails this object only.
      fail(it, (err as Error).message);
    }
  });
}

/** Reads what the cluster holds of these objects: a LIST per kind by owner labels, else a GET each. */
async function observe(ctx: Ctx, items: Item[]): Promise<Map<string, Unstructured>> {
  const live = new Map<string, Unstructured>();
  const { client } = ctx.cluster;
  const selector = ctx.options.ownerLabels && Object.entries(ctx.options.ownerLabels).map(([k, v]) => `${k}=${v}`).join(',');
  if (!selector) {
    await mapLimit(items, ctx.options.concurrency ?? 16, async (it) => {
      const res = await client.request<Unstructured>('GET', resourcePath(it.mapping!, it.obj.metadata.namespace, it.obj.metadata.name));
      if (res.status === 200) live.set(it.id, res.body);
    });
    return live;
  }
  // Only kinds with objects the last apply recorded need reading: nothing else can take the fast
  // path, and a first apply learns created/configured from the PATCH itself.
  const byKind = new Map<string, { mapping: ResourceMapping; namespaces: Set<string> }>();
  // A dry run (tide diff) reads them all, to show the fields that would change.
  for (const it of items.filter((i) => ctx.options.dryRun || ctx.previous.get(i.id)?.desired)) {
    const key = `${it.mapping!.apiVersion}/${it.mapping!.kind}`;
    const g = byKind.get(key) ?? { mapping: it.mapping!, namespaces: new Set<string>() };
    g.namespaces.add(it.obj.metadata.namespace ?? '');
    byKind.set(key, g);
  }
  await mapLimit([...byKind.values()], 8, async ({ mapping, namespaces }) => {
    const list = async (ns?: string) => {
      const res = await client.request<{ items: Unstructured[] }>('GET', resourcePath(mapping, ns), { query: { labelSelector: selector } });
      if (res.status === 403 && mapping.namespaced && ns === undefined) return false;
      if (res.status !== 200) throw apiError(res, 'GET', resourcePath(mapping, ns));
      for (const o of res.body.items) live.set(inventoryId({ ...o, apiVersion: mapping.apiVersion, kind: mapping.kind }), { ...o, apiVersion: mapping.apiVersion, kind: mapping.kind });
      return true;
    };
    // One namespace: list only it (the apiserver then scans only it). Several: one LIST across
    // namespaces when allowed, else one per namespace (least-privilege RBAC).
    const only = namespaces.size === 1 && mapping.namespaced ? [...namespaces][0] : undefined;
    if (only) await list(only);
    else if (!(await list())) await mapLimit([...namespaces], 8, (ns) => list(ns));
  });
  return live;
}

async function applyOne(ctx: Ctx, it: Item, observed: Map<string, Unstructured>): Promise<void> {
  const { client } = ctx.cluster;
  const path = resourcePath(it.mapping!, it.obj.metadata.namespace, it.obj.metadata.name);
  const policy = ssaPolicy(it.obj);
  const base = { subject: subjectOf(it.obj), apiVersion: it.obj.apiVersion };
  const keep = (entry: Partial<AppliedEntry> | undefined) => entry?.desired && entry.live
    ? { id: it.id, v: versionOf(it.obj.apiVersion), desired: entry.desired, live: entry.live } : undefined;
  let before = observed.get(it.id);

  if (policy === 'Ignore') {
    it.entry = { ...base, action: 'skipped', reason: 'annotated kustomize.toolkit.fluxcd.io/ssa: Ignore' };
    return;
  }
  if (policy === 'IfNotPresent') {
    if (!before) {
      const res = await client.request<Unstructured>('GET', path);
      if (res.status === 200) before = res.body;
    }
    if (before) {
      it.entry = { ...base, action: 'skipped', reason: 'exists, and is annotated kustomize.toolkit.fluxcd.io/ssa: IfNotPresent' };
      return;
    }
  }

  // Fast path: the same desired object as last time, and what Tide owns in the cluster is as the
  // last apply left it. Anything else is applied; an extra PATCH is only slower, a missed one a bug.
  const prev = ctx.previous.get(it.id);
  // Git did not change this object: if the cluster did (edited, deleted, relabelled), that is drift.
  const sameDesired = prev?.desired === it.desired && !!prev.live;
  if (before && sameDesired) {
    const set = ownedFields(before, ctx.manager);
    if (set && digest(project(before, set)) === prev!.live) {
      it.entry = { ...base, action: 'unchanged' };
      it.applied = keep(prev);
      it.live = before;
      return;
    }
  }
  const drifted = sameDesired;

  const takeOverFirst = policy !== 'Merge' && !ctx.options.dryRun && before !== undefined && hasHandEdits(before);
  if (takeOverFirst) await takeOver(ctx, path, before!).catch(() => undefined); // a lost race is retried below
  let res = await patchApply(ctx, path, it.obj);
  let recreated: string | undefined;
  if (res.status === 422 && isImmutable(res)) {
    const message = (res.body as { message?: string }).message ?? 'field is immutable';
    if (!(ctx.options.force || forceEnabled(it.obj))) {
      fail(it, `${message} (set force to recreate)`);
      return;
    }
    if (ctx.options.dryRun) {
      it.entry = { ...base, action: 'configured', reason: `would be recreated: ${message}` };
      return;
    }
    await deleteAndWait(ctx, path);
    recreated = `recreated (force): ${message}`;
    before = undefined;
    res = await patchApply(ctx, path, it.obj);
  }
  if (res.status !== 200 && res.status !== 201) {
    const b = res.body as { message?: string };
    fail(it, b?.message ?? `${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    return;
  }
  let after = res.body as Unstructured;

  // Objects Tide had not seen (not in the LIST) may carry hand edits too: move those fields to
  // Tide's manager and apply again, so that a field removed from Git is removed from the cluster.
  if (policy !== 'Merge' && !ctx.options.dryRun && hasHandEdits(after)) {
    await takeOver(ctx, path, after);
    res = await patchApply(ctx, path, it.obj);
    if (res.status !== 200) {
      fail(it, `taking over fields from kubectl failed: ${(res.body as { message?: string })?.message ?? res.status}`);
      return;
    }
    after = res.body as Unstructured;
  }

  const set = ownedFields(after, ctx.manager) ?? {};
  const liveDigest = digest(project(after, set));
  it.live = after;
  it.applied = { id: it.id, v: versionOf(it.obj.apiVersion), desired: it.desired, live: liveDigest };
  if (res.status === 201 || recreated) {
    it.entry = { ...base, action: 'created', ...(recreated ? { reason: recreated } : {}), ...(drifted && !recreated ? { drifted: true, reason: 'deleted from the cluster by hand' } : {}) };
    return;
  }
  const fields = before ? hideSecretValues(it.obj, changedFields(before, after, set)) : undefined;
  // A real apply that changed nothing keeps the resourceVersion; a dry run never moves it, so
  // there the owned fields tell.
  const same = ctx.options.dryRun ? fields?.length === 0 : before?.metadata.resourceVersion === after.metadata.resourceVersion;
  if (before && same) {
    it.entry = { ...base, action: 'unchanged' };
    return;
  }
  it.entry = { ...base, action: 'configured', ...(fields ? { fields } : {}), ...(drifted ? { drifted: true } : {}) };
}

async function patchApply(ctx: Ctx, path: string, obj: Unstructured): Promise<KubeResponse> {
  const send = () => ctx.cluster.client.request('PATCH', path, {
    body: obj,
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: ctx.manager, force: true, ...(ctx.options.dryRun ? { dryRun: 'All' } : {}) },
  });
  // An apply creates, so 404 means the endpoint or the namespace is not there *yet*: a CRD
  // Established a moment ago whose handler is still being installed, or a Namespace of this set
  // still being initialised. Try again briefly before calling it a failure.
  let res = await send();
  for (let attempt = 1; res.status === 404 && attempt <= 5; attempt++) {
    await new Promise((r) => setTimeout(r, 100 * attempt));
    res = await send();
  }
  return res;
}

function isImmutable(res: KubeResponse): boolean {
  const msg = (res.body as { message?: string })?.message ?? '';
  return /field is immutable|may not change once set|updates to .* are forbidden|cannot change|is immutable/i.test(msg);
}

async function deleteAndWait(ctx: Ctx, path: string): Promise<void> {
  const { client } = ctx.cluster;
  // Background: the object goes at once and the garbage collector takes its dependents after.
  await client.request('DELETE', path, { body: { propagationPolicy: 'Background' } });
  const deadline = Date.now() + 60_000;
  while ((await client.request('GET', path)).status !== 404) {
    if (Date.now() > deadline) throw new Error(`${path} was deleted to be recreated but is still there after 60s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function hasHandEdits(o: Unstructured): boolean {
  return (o.metadata.managedFields ?? []).some(isHandEdit);
}

/** Moves the fields hand edits own to Tide's Apply entry (fluxcd/pkg ssa's PatchReplaceFieldsManagers). */
async function takeOver(ctx: Ctx, path: string, o: Unstructured): Promise<void> {
  const entries = o.metadata.managedFields ?? [];
  let mine: ManagedFieldsEntry | undefined = entries.find((e) => e.manager === ctx.manager && e.operation === 'Apply' && !e.subresource);
  const kept: ManagedFieldsEntry[] = [];
  for (const e of entries) {
    if (isHandEdit(e)) {
      mine = { ...(mine ?? { manager: ctx.manager, operation: 'Apply', apiVersion: e.apiVersion, fieldsType: 'FieldsV1' }), fieldsV1: unionFields(mine?.fieldsV1 ?? {}, e.fieldsV1 ?? {}) };
      continue;
    }
    if (e.manager === ctx.manager && e.operation === 'Apply' && !e.subresource) continue;
    kept.push(e);
  }
  if (!mine) return;
  const patch = [
    { op: 'test', path: '/metadata/resourceVersion', value: o.metadata.resourceVersion },
    { op: 'replace', path: '/metadata/managedFields', value: [...kept, mine] },
  ];
  const res = await ctx.cluster.client.request('PATCH', path, { body: patch, contentType: 'application/json-patch+json' });
  if (res.status !== 200) throw apiError(res, 'PATCH', path);
}

async function waitEstablished(ctx: Ctx, crds: Item[]): Promise<string | undefined> {
  const deadline = Date.now() + (ctx.options.crdTimeoutMs ?? 60_000);
  for (const it of crds) {
    const path = resourcePath(it.mapping!, undefined, it.obj.metadata.name);
    for (;;) {
      const res = await ctx.cluster.client.request<{ status?: { conditions?: Array<{ type: string; status: string; message?: string }> } }>('GET', path);
      const conds = res.body?.status?.conditions ?? [];
      if (conds.some((c) => c.type === 'Established' && c.status === 'True')) break;
      const refused = conds.find((c) => c.type === 'NamesAccepted' && c.status === 'False');
      if (refused) return `its CustomResourceDefinition ${it.obj.metadata.name} was not accepted: ${refused.message ?? ''}`;
      if (Date.now() > deadline) return `its CustomResourceDefinition ${it.obj.metadata.name} is not Established after ${(ctx.options.crdTimeoutMs ?? 60_000) / 1000}s`;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return undefined;
}

function hideSecretValues(o: Unstructured, changes: FieldChange[]): FieldChange[] {
  if (!(o.kind === 'Secret' && o.apiVersion === 'v1')) return changes;
  return changes.map((c) => ({ path: c.path }));
}
