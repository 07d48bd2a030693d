import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dependencyLevels, inDependencyOrder } from '../../shared/local/dependency-order.ts';
import type { KustomizationSpec } from '../../shared/reconcile/kustomization.ts';

const k = (name: string, ...deps: string[]) => ({
  ref: { cluster: 'c', namespace: 'flux-system', kind: 'Kustomization', name },
  spec: { dependsOn: deps.map((d) => ({ name: d })) } as KustomizationSpec,
});
const names = (levels: ReturnType<typeof dependencyLevels>) => levels.map((l) => l.map((r) => r.name));

describe('runner: dependency levels', () => {
  it('puts each Kustomization after what it depends on, and runs independent ones together', () => {
    assert.deepEqual(names(dependencyLevels([k('apps', 'infra'), k('infra', 'crds'), k('crds'), k('monitoring', 'crds'), k('flux-system')])), [
      ['crds', 'flux-system'], ['infra', 'monitoring'], ['apps'],
    ]);
  });

  it('puts a cycle or a missing dependency last instead of looping', () => {
    assert.deepEqual(names(dependencyLevels([k('a', 'b'), k('b', 'a'), k('c', 'missing'), k('d')])), [['d'], ['a', 'b', 'c']]);
  });
});

describe('runner: in dependency order', () => {
  /** Runs the set, each reconcile taking `ms[name]` (default 10 ms); returns when each started and ended. */
  async function run(items: ReturnType<typeof k>[], ms: Record<string, number>, concurrency = 8) {
    const t0 = Date.now();
    const log = new Map<string, { start: number; end: number }>();
    await inDependencyOrder(items, concurrency, async (ref) => {
      const start = Date.now() - t0;
      await new Promise((r) => setTimeout(r, ms[ref.name] ?? 10));
      log.set(ref.name, { start, end: Date.now() - t0 });
    });
    return log;
  }

  it('starts a Kustomization when its own dependencies are done, not when its whole level is', async () => {
    // flux-system (slow) and infrastructure are level 0; the apps depend on infrastructure only.
    const log = await run([k('flux-system'), k('infrastructure'), k('app-1', 'infrastructure'), k('app-2', 'infrastructure')], { 'flux-system': 400, infrastructure: 20 });
    for (const app of ['app-1', 'app-2']) {
      assert.ok(log.get(app)!.start >= log.get('infrastructure')!.end, `${app} waits for infrastructure`);
      assert.ok(log.get(app)!.end < log.get('flux-system')!.end, `${app} does not wait for flux-system`);
    }
  });

  it('keeps chains in order and runs everything once, a cycle included', async () => {
    const log = await run([k('apps', 'infra'), k('infra', 'crds'), k('crds'), k('a', 'b'), k('b', 'a'), k('c', 'missing')], { crds: 50 }, 2);
    assert.deepEqual([...log.keys()].sort(), ['a', 'apps', 'b', 'c', 'crds', 'infra']);
    assert.ok(log.get('infra')!.start >= log.get('crds')!.end);
    assert.ok(log.get('apps')!.start >= log.get('infra')!.end);
  });
});
