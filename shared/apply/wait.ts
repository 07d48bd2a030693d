import type { Cluster } from '../kube/cluster.ts';
import { resourcePath } from '../kube/discovery.ts';
import { mapLimit } from '../util/map-limit.ts';
import { health, type HealthStatus } from './health.ts';
import { parseInventoryId, subjectOf, type Unstructured } from './object.ts';

export interface ObjectHealth {
  subject: string;
  status: HealthStatus | 'NotFound';
  message: string;
}

export interface HealthReport {
  /** Every object Current. */
  readonly healthy: boolean;
  /** Some object Failed (or is gone): waiting longer will not help. */
  readonly failed: boolean;
  readonly objects: ObjectHealth[];
  /** The ones not yet Current, for a later call to go on with. */
  readonly pending: Array<{ id: string; v: string }>;
}

export interface WaitOptions {
  /** Stop polling at this time (ms since the epoch) and report what is still in progress. */
  readonly deadline: number;
  /** The longest pause between polls; they start at a tenth of it and back off. Default 1 s. */
  readonly pollMs?: number;
  readonly concurrency?: number;
  /** Objects already read in this reconcile (the apply's responses), by inventory id: their first check reads nothing. */
  readonly observed?: ReadonlyMap<string, Unstructured>;
}

/**
 * Polls the health of inventory objects until all are Current, one Failed, or the deadline.
 * It never blocks past the deadline: what is still in progress comes back in `pending`, so a
 * Lambda near the end of its budget can hand the rest to a later invocation.
 */
export async function waitForHealth(cluster: Cluster, entries: ReadonlyArray<{ id: string; v: string }>, options: WaitOptions): Promise<HealthReport> {
  let pending = [...entries];
  const done = new Map<string, ObjectHealth>();
  const maxPause = options.pollMs ?? 1000;
  let pause = Math.max(50, maxPause / 10); // most rollouts finish within a few hundred ms of apply
  let first = options.observed;
  for (;;) {
    const seen = first;
    const checked = await mapLimit(pending, options.concurrency ?? 16, async (e) => {
      const obj = seen?.get(e.id);
      return { e, h: obj ? healthOf(e, obj) : await checkOne(cluster, e) };
    });
    first = undefined;
    pending = [];
    for (const { e, h } of checked) {
      done.set(e.id, h);
      if (h.status === 'InProgress') pending.push(e);
    }
    const objects = entries.map((e) => done.get(e.id)!);
    const failed = objects.some((o) => o.status === 'Failed' || o.status === 'NotFound');
    if (pending.length === 0 || failed || Date.now() + pause > options.deadline) {
      return { healthy: pending.length === 0 && !failed, failed, objects, pending };
    }
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(maxPause, pause * 2);
  }
}

function healthOf(e: { id: string; v: string }, obj: Unstructured): ObjectHealth {
  const ref = parseInventoryId(e.id, e.v);
  return { subject: subjectOf({ kind: ref.kind, metadata: { namespace: ref.namespace, name: ref.name } }), ...health({ ...obj, apiVersion: ref.apiVersion, kind: ref.kind }) };
}

async function checkOne(cluster: Cluster, e: { id: string; v: string }): Promise<ObjectHealth> {
  const ref = parseInventoryId(e.id, e.v);
  const subject = subjectOf({ kind: ref.kind, metadata: { namespace: ref.namespace, name: ref.name } });
  const mapping = await cluster.discovery.find(ref.apiVersion, ref.kind);
  if (!mapping) return { subject, status: 'NotFound', message: `${ref.apiVersion} ${ref.kind} is not served` };
  const res = await cluster.client.request<Unstructured>('GET', resourcePath(mapping, ref.namespace, ref.name));
  if (res.status === 404) return { subject, status: 'NotFound', message: 'not found' };
  if (res.status !== 200) return { subject, status: 'InProgress', message: `GET answered ${res.status}` };
  return healthOf(e, res.body);
}
