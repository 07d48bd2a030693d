import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dependencyLevels } from '../../shared/local/runner.ts';
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
