import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changedFields, digest, project } from '../../shared/apply/index.ts';

// A fieldsV1 set as the apiserver writes it for a Deployment's container list (keyed by name),
// a set-typed list (finalizers) and a map.
const set = {
  'f:metadata': { 'f:labels': { 'f:app': {} }, 'f:finalizers': { 'v:"a.example/x"': {} } },
  'f:spec': {
    'f:replicas': {},
    'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:name': {} } } } },
  },
};
const live = (over: { replicas?: number; image?: string; sidecar?: boolean; order?: 'reversed'; label?: string; extra?: boolean } = {}) => {
  const containers = [{ name: 'app', image: over.image ?? 'app:1', imagePullPolicy: 'IfNotPresent' }];
  if (over.sidecar) containers.push({ name: 'sidecar', image: 'proxy:1', imagePullPolicy: 'Always' });
  if (over.order) containers.reverse();
  return {
    metadata: { labels: { app: over.label ?? 'web', ...(over.extra ? { other: 'x' } : {}) }, finalizers: ['a.example/x'], resourceVersion: '1' },
    spec: { replicas: over.replicas ?? 2, template: { spec: { containers } } },
    status: { readyReplicas: 1 },
  };
};

describe('fields: projection onto a manager’s field set', () => {
  it('ignores what the manager does not own, and list order', () => {
    const base = digest(project(live(), set));
    assert.equal(digest(project({ ...live({ sidecar: true, extra: true }), status: { readyReplicas: 2 } }, set)), base);
    assert.equal(digest(project(live({ sidecar: true, order: 'reversed' }), set)), base);
  });

  it('changes with any owned value', () => {
    const base = digest(project(live(), set));
    for (const changed of [live({ replicas: 3 }), live({ image: 'app:2' }), live({ label: 'api' })]) {
      assert.notEqual(digest(project(changed, set)), base);
    }
    const noFinalizer = live();
    noFinalizer.metadata.finalizers = [];
    assert.notEqual(digest(project(noFinalizer, set)), base);
    const noContainer = live();
    noContainer.spec.template.spec.containers = [];
    assert.notEqual(digest(project(noContainer, set)), base);
  });

  it('names changed fields with list keys', () => {
    assert.deepEqual(changedFields(live({ replicas: 5, image: 'app:0' }), live(), set), [
      { path: 'spec.replicas', before: 5, after: 2 },
      { path: 'spec.template.spec.containers[name=app].image', before: 'app:0', after: 'app:1' },
    ]);
  });
});
