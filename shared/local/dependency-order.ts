import type { KustomizationSpec } from '../reconcile/kustomization.ts';
import type { ObjectRef } from '../store/refs.ts';
import { mapLimit } from '../util/map-limit.ts';

/**
 * Runs each Kustomization once its dependencies have run in this pass, `concurrency` at once.
 * Not level by level: a Kustomization waits only for its own dependencies, so the apps that
 * depend on `infrastructure` start when it is done, not when a slow sibling of it is. A
 * dependency in a cycle (or missing) is not waited for; its reconcile says DependencyNotReady.
 */
export async function inDependencyOrder(
  items: Array<{ ref: ObjectRef; spec: KustomizationSpec }>,
  concurrency: number,
  fn: (ref: ObjectRef) => Promise<void>,
): Promise<void> {
  const key = (namespace: string, name: string) => `${namespace}/${name}`;
  const levels = dependencyLevels(items);
  const level = new Map(levels.flatMap((refs, i) => refs.map((r) => [key(r.namespace, r.name), i] as const)));
  const finished = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  for (const i of items) {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    finished.set(key(i.ref.namespace, i.ref.name), { promise, resolve });
  }
  const specs = new Map(items.map((i) => [key(i.ref.namespace, i.ref.name), i.spec]));
  // In level order, so whatever a Kustomization waits for was taken up before it: no slot waits on a queued one.
  await mapLimit(levels.flat(), concurrency, async (ref) => {
    const self = key(ref.namespace, ref.name);
    try {
      for (const dep of specs.get(self)?.dependsOn ?? []) {
        const d = key(dep.namespace ?? ref.namespace, dep.name);
        if ((level.get(d) ?? Infinity) < level.get(self)!) await finished.get(d)!.promise;
      }
      await fn(ref);
    } finally {
      finished.get(self)!.resolve();
    }
  });
}

/**
 * Kustomizations grouped by dependency depth: level 0 depends on nothing in the set, level n only
 * on levels before it. A cycle (or a missing dependency) is put at the end; its reconcile reports
 * DependencyNotReady.
 */
export function dependencyLevels(items: Array<{ ref: ObjectRef; spec: KustomizationSpec }>): ObjectRef[][] {
  const byKey = new Map(items.map((i) => [`${i.ref.namespace}/${i.ref.name}`, i]));
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (key: string): number => {
    const known = depth.get(key);
    if (known !== undefined) return known;
    const item = byKey.get(key);
    if (!item || visiting.has(key)) return items.length; // missing or a cycle: last
    visiting.add(key);
    const deps = (item.spec?.dependsOn ?? []).map((d) => `${d.namespace ?? item.ref.namespace}/${d.name}`);
    const d = deps.length === 0 ? 0 : Math.min(items.length, 1 + Math.max(...deps.map(depthOf)));
    visiting.delete(key);
    depth.set(key, d);
    return d;
  };
  const levels = new Map<number, ObjectRef[]>();
  for (const key of [...byKey.keys()].sort()) {
    const d = depthOf(key);
    levels.set(d, [...(levels.get(d) ?? []), byKey.get(key)!.ref]);
  }
  return [...levels.entries()].sort((a, b) => a[0] - b[0]).map(([, refs]) => refs);
}
