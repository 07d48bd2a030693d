import assert from 'node:assert/strict';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildKustomization, BuildError } from '../../shared/render/index.ts';
import { useTrees } from './trees.ts';

const { tree, dirs } = useTrees();

const cm = (name: string, extra = '') => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  a: "1"\n${extra}`;
const deploy = (name: string, replicas: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {containers: [{name: app, image: "ghcr.io/stefanprodan/podinfo:6.7.0"}]}
`;

describe('render: kustomize build', () => {
  it('generates a kustomization over plain manifests, as Flux does, skipping other YAML', async () => {
    const root = await tree({
      'apps/a.yaml': cm('a'),
      'apps/nested/b.yml': `${cm('b')}---\n${cm('c')}`,
      'apps/values.yaml': 'replicaCount: 2\n',
      'apps/sub/kustomization.yaml': 'resources: [d.yaml]\n',
      'apps/sub/d.yaml': cm('d'),
    });
    const objs = await buildKustomization(root, { path: './apps' });
    assert.deepEqual(objs.map((o) => o.metadata.name).sort(), ['a', 'b', 'c', 'd']);
  });

  it('applies the spec: targetNamespace, namePrefix/nameSuffix, images, patches, components, commonMetadata', async () => {
    const root = await tree({
      'app/kustomization.yaml': 'resources: [deploy.yaml]\n',
      'app/deploy.yaml': deploy('web', '1'),
      'components/probe/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations: {probe: "on"}\n',
    });
    const [d] = await buildKustomization(root, {
      path: 'app',
      targetNamespace: 'prod',
      namePrefix: 'eu-',
      nameSuffix: '-v2',
      images: [{ name: 'ghcr.io/stefanprodan/podinfo', newTag: '6.8.0' }],
      patches: [{ patch: '- op: replace\n  path: /spec/replicas\n  value: 3', target: { kind: 'Deployment' } }],
      components: ['../components/probe'],
      commonMetadata: { labels: { team: 'web' }, annotations: { owner: 'platform' } },
    });
    assert.equal(d?.metadata.name, 'eu-web-v2');
    assert.equal(d?.metadata.namespace, 'prod');
    assert.deepEqual(d?.metadata.labels, { team: 'web' });
    assert.deepEqual(d?.metadata.annotations, { owner: 'platform', probe: 'on' });
    const spec = d?.spec as { replicas: number; template: { spec: { containers: Array<{ image: string }> } } };
    assert.equal(spec.replicas, 3);
    assert.equal(spec.template.spec.containers[0]?.image, 'ghcr.io/stefanprodan/podinfo:6.8.0');
  });

  it('loads a base beside the overlay inside the tree (apps/production -> ../base)', async () => {
    const root = await tree({
      'apps/base/kustomization.yaml': 'resources: [cm.yaml]\n',
      'apps/base/cm.yaml': cm('settings'),
      'apps/production/kustomization.yaml': 'resources: [../base]\nnamePrefix: prod-\n',
    });
    const objs = await buildKustomization(root, { path: 'apps/production' });
    assert.deepEqual(objs.map((o) => o.metadata.name), ['prod-settings']);
  });

  it('substitutes postBuild variables on the rendered text, with Flux’s defaults and escapes', async () => {
    const root = await tree({
      'app/deploy.yaml': deploy('web', '${replicas:=2}'),
      'app/cm.yaml': cm('env', '  region: "${region}"\n  cluster: ${cluster_name:-unnamed}\n  literal: $${not_a_var}\n  unset: "${unset_var}"\n'),
      'app/raw.yaml': cm('raw', '  kept: "${region}"\n').replace('name: raw', 'name: raw\n  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled'),
    });
    const objs = await buildKustomization(root, { path: 'app' }, { vars: { region: 'eu-west-1', cluster_name: '' } });
    const by = Object.fromEntries(objs.map((o) => [o.metadata.name, o as { spec?: { replicas: unknown }; data?: Record<string, unknown> }]));
    assert.strictEqual(by.web?.spec?.replicas, 2, 'a number, not the string "2"');
    // kustomize prints "${unset_var}" unquoted, so an unset variable leaves an empty (null) value, as in Flux.
    assert.deepEqual(by.env?.data, { a: '1', region: 'eu-west-1', cluster: 'unnamed', literal: '${not_a_var}', unset: null });
    assert.equal(by.raw?.data?.kept, '${region}');
    await assert.rejects(
      buildKustomization(await tree({ 'app/cm.yaml': cm('x', '  v: "${missing}"\n') }), { path: 'app' }, { vars: {}, strictSubstitution: true }),
      /ConfigMap x: variable missing is not set and has no default/,
    );
  });
});

describe('render: bad input fails the build and says why', () => {
  const fails = async (files: Record<string, string>, spec: { path?: string }, message: RegExp, setup?: (root: string) => Promise<void>) => {
    const root = await tree(files);
    await setup?.(root);
    await assert.rejects(buildKustomization(root, spec), (err: Error) => {
      assert.ok(err instanceof BuildError, err.message);
      assert.match(err.message, message);
      assert.ok(!err.message.includes(root), `the message does not leak the temp path: ${err.message}`);
      return true;
    });
  };

  it('a resource that climbs out of the tree (CVE-2022-24877 class)', () =>
    fails({ 'app/kustomization.yaml': 'resources: [../../../../etc/passwd]\n' }, { path: 'app' }, /app\/kustomization\.yaml: resources "\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd" points outside the source/));

  it('a generator file outside the tree', () =>
    fails({ 'app/kustomization.yaml': 'configMapGenerator:\n- name: x\n  files: [key=/etc/hostname]\n' }, { path: 'app' }, /generator files "\/etc\/hostname" points outside the source/));

  it('a remote base (CVE-2022-24904 class)', () =>
    fails({ 'app/kustomization.yaml': 'resources: [github.com/org/repo//deploy?ref=main]\n' }, { path: 'app' }, /is a remote base; remote bases are disabled/));

  it('a symlink out of the tree', () =>
    fails({ 'app/cm.yaml': cm('a') }, { path: 'app' }, /app\/leak\.yaml is a symlink that points outside the source/, (root) => symlink('/etc/passwd', join(root, 'app/leak.yaml'))));

  it('a base reached through a symlinked directory that leaves the tree', () =>
    fails({ 'app/kustomization.yaml': 'resources: [../vendor/base]\n' }, { path: 'app' }, /app\/kustomization\.yaml: resources "\.\.\/vendor\/base" leads through a symlink outside the source/,
      async (root) => {
        const outside = await mkdtemp(join(tmpdir(), 'tide-outside-'));
        dirs.push(outside);
        await mkdir(join(outside, 'base'));
        await writeFile(join(outside, 'base', 'kustomization.yaml'), 'resources: []\n');
        await symlink(outside, join(root, 'vendor'));
      }));

  it('a path outside the tree, or missing', async () => {
    await fails({ 'app/cm.yaml': cm('a') }, { path: '../' }, /path "\.\.\/" points outside the source/);
    await fails({ 'app/cm.yaml': cm('a') }, { path: './nope' }, /path "\.\/nope" does not exist in the source/);
  });

  it('a broken kustomization.yaml', () =>
    fails({ 'app/kustomization.yaml': 'resources: [a.yaml\n' }, { path: 'app' }, /kustomization\.yaml is not valid YAML|not valid YAML/));

  it('a manifest that is not valid YAML, in a directory without kustomization.yaml: the build fails, never skips it (it would be pruned)', () =>
    fails({ 'app/cm.yaml': cm('a'), 'app/nested/broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b\n' }, { path: 'app' }, /nested\/broken\.yaml is not valid YAML/));

  it('a resource file that does not exist, in kustomize’s own words', () =>
    fails({ 'app/kustomization.yaml': 'resources: [missing.yaml]\n' }, { path: 'app' }, /kustomize build failed: .*missing\.yaml/));
});
