import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { KustomizeError, KustomizeServer } from '../../shared/render/kustomize-server.ts';
import { useTrees } from './trees.ts';
import { kustomizeServerPath } from '../../shared/tools/binaries.ts';
import { runTool } from '../../shared/tools/run-tool.ts';

const run = promisify(execFile);
const { tree } = useTrees('tide-kserver-');
let server: KustomizeServer;

before(async () => {
  const bin = await kustomizeServerPath();
  assert.ok(bin, 'tide-kustomize is not built: run tools/kustomize-server/build.sh (.ci/run does)');
  server = new KustomizeServer(bin);
});
after(() => server?.close());

/** What kubectl kustomize prints for the same directory: the objects and each one's text. */
async function kubectl(dir: string): Promise<{ objects: unknown[]; yaml: string[] }> {
  const { stdout } = await runTool('kubectl', ['kustomize', dir, '--load-restrictor', 'LoadRestrictionsNone'], { env: { PATH: '/usr/bin:/bin', HOME: dir } });
  const docs = parseAllDocuments(stdout);
  return { objects: docs.map((d) => d.toJS()), yaml: docs.map((d) => stdout.slice(d.range[0], d.range[2]).replace(/^---\n/, '')) };
}

const deploy = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: ghcr.io/stefanprodan/podinfo:6.7.0
        env: [{name: ENABLED, value: "yes"}, {name: PORT, value: "9898"}]
`;

// Trees that use what kustomize does beyond concatenation: bases, patches (strategic and JSON
// 6902), generators with hashed names and the references to them, images, replicas, components,
// namespaces and prefixes, the legacy order (Namespace first) and a kustomization's sortOptions.
const fixtures: Record<string, Record<string, string>> = {
  'base and overlay': {
    'base/kustomization.yaml': 'resources: [deploy.yaml, svc.yaml]\nconfigMapGenerator: [{name: settings, literals: [LEVEL=info]}]\n',
    'base/deploy.yaml': deploy,
    'base/svc.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n',
    'prod/kustomization.yaml': [
      'namespace: prod',
      'namePrefix: eu-',
      'resources: [../base, ns.yaml]',
      'components: [../probe]',
      'images: [{name: ghcr.io/stefanprodan/podinfo, newTag: 6.7.1}]',
      'replicas: [{name: web, count: 3}]',
      'configMapGenerator: [{name: settings, behavior: merge, literals: [LEVEL=warn]}]',
      'patches:',
      '- patch: |-\n    - op: add\n      path: /spec/template/spec/containers/0/args\n      value: ["--level=warn"]\n  target: {kind: Deployment}',
      '- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: web}\n    spec: {template: {spec: {containers: [{name: app, envFrom: [{configMapRef: {name: settings}}]}]}}}',
      '',
    ].join('\n'),
    'prod/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n',
    'probe/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations: {probe: "on"}\n',
  },
  'sortOptions fifo': {
    'prod/kustomization.yaml': 'sortOptions: {order: fifo}\nresources: [svc.yaml, ns.yaml]\n',
    'prod/svc.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: prod}\nspec: {ports: [{port: 80}]}\n',
    'prod/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n',
  },
  'secret generator and quoted scalars': {
    'prod/kustomization.yaml': 'secretGenerator: [{name: creds, literals: [user=admin, "on=yes"]}]\nresources: [cm.yaml]\n',
    'prod/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: flags}\ndata: {a: "true", b: "0x10", c: "1e3", d: "~", e: "2026-11-25"}\n',
  },
};

describe('tide-kustomize: the kustomize library, resident', () => {
  for (const [name, files] of Object.entries(fixtures)) {
    it(`builds the same objects, in the same order and text, as kubectl kustomize: ${name}`, async () => {
      const root = await tree(files);
      const dir = join(root, 'prod');
      const [want, got] = await Promise.all([kubectl(dir), server.build(dir, root, { yaml: true })]);
      assert.ok(want.objects.length > 0);
      assert.deepEqual(got.objects, want.objects);
      assert.deepEqual(got.yaml, want.yaml);
    });
  }

  it('answers concurrent builds each with its own objects', async () => {
    const roots = await Promise.all(Array.from({ length: 12 }, (_, i) => tree({ 'prod/kustomization.yaml': `namePrefix: n${i}-\nresources: [cm.yaml]\n`, 'prod/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {i: "${i}"}\n` })));
    const outs = await Promise.all(roots.map((r) => server.build(join(r, 'prod'), r)));
    outs.forEach((o, i) => {
      assert.equal(o.objects.length, 1);
      assert.deepEqual((o.objects[0] as { metadata: { name: string } }).metadata.name, `n${i}-cm`);
      assert.equal(o.yaml, undefined, 'no YAML unless asked for');
    });
  });

  it("gives kustomize's own error for a bad kustomization, and goes on serving", async () => {
    const root = await tree({ 'prod/kustomization.yaml': 'resources: [missing.yaml]\n' });
    await assert.rejects(server.build(join(root, 'prod'), root), (err: Error) => err instanceof KustomizeError && /missing\.yaml/.test(err.message));
    const ok = await tree({ 'prod/kustomization.yaml': 'resources: [cm.yaml]\n', 'prod/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n' });
    assert.equal((await server.build(join(ok, 'prod'), ok)).objects.length, 1);
  });

  it('refuses to read outside the root it is given, through ../ or a symlink (CVE-2022-24877 class)', async () => {
    const outside = await tree({ 'secret.yaml': 'apiVersion: v1\nkind: Secret\nmetadata: {name: stolen}\nstringData: {k: v}\n' });
    const root = await tree({
      'dotdot/kustomization.yaml': `resources: [../../${outside.split('/').pop()}/secret.yaml]\n`,
      'link/kustomization.yaml': 'resources: [secret.yaml]\n',
    });
    await symlink(join(outside, 'secret.yaml'), join(root, 'link', 'secret.yaml'));
    for (const dir of ['dotdot', 'link']) {
      await assert.rejects(server.build(join(root, dir), root), (err: Error) => {
        assert.match(err.message, /outside the source tree/);
        return true;
      });
    }
  });

  it('fetches no remote base: it runs with no PATH, so git cannot start (CVE-2022-24904 class)', async () => {
    const root = await tree({ 'prod/kustomization.yaml': 'resources: [https://github.com/stefanprodan/podinfo//kustomize?ref=6.7.0]\n' });
    await assert.rejects(server.build(join(root, 'prod'), root), KustomizeError);
  });

  it('starts a new process after one dies, failing only what was in flight', async () => {
    const root = await tree({ 'prod/kustomization.yaml': 'resources: [cm.yaml]\n', 'prod/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n' });
    await server.build(join(root, 'prod'), root);
    const pids = await childServers();
    assert.ok(pids.length > 0);
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await server.build(join(root, 'prod'), root)).objects.length, 1);
    const now = await childServers();
    assert.ok(now.length > 0 && now.every((p) => !pids.includes(p)), 'a fresh process serves');
  });

  it('does not keep a finished program alive', async () => {
    const root = await tree({ 'prod/kustomization.yaml': 'resources: [cm.yaml]\n', 'prod/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n' });
    const script = `import { KustomizeServer } from ${JSON.stringify(new URL('../../shared/render/kustomize-server.ts', import.meta.url).href)};
const s = new KustomizeServer(${JSON.stringify(await kustomizeServerPath())});
const out = await s.build(${JSON.stringify(join(root, 'prod'))}, ${JSON.stringify(root)});
console.log(out.objects.length);`;
    const file = join(root, 'one.mts');
    await writeFile(file, script);
    const { stdout } = await run(process.execPath, ['--import', 'tsx', file], { timeout: 30_000 });
    assert.equal(stdout.trim(), '1');
  });
});

describe('without tide-kustomize', () => {
  it('buildKustomization runs kubectl kustomize instead, with the same result, postBuild substitution included', async () => {
    const root = await tree({
      'base/kustomization.yaml': 'resources: [cm.yaml]\nconfigMapGenerator: [{name: gen, literals: [a=b]}]\n',
      'base/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: flags}\ndata: {replicas: "${n:=3}", on: "yes"}\n',
      'app/kustomization.yaml': 'resources: [../base]\nnamePrefix: p-\n',
    });
    const script = join(root, 'build.mts');
    await writeFile(script, `import { buildKustomization } from ${JSON.stringify(new URL('../../shared/render/index.ts', import.meta.url).href)};
console.log(JSON.stringify(await buildKustomization(${JSON.stringify(root)}, { path: 'app', targetNamespace: 'prod' }, { vars: { n: '5' } })));`);
    const inChild = (env: Record<string, string>) => run(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env }, timeout: 60_000 });
    const { buildKustomization } = await import('../../shared/render/index.ts');
    const here = await buildKustomization(root, { path: 'app', targetNamespace: 'prod' }, { vars: { n: '5' } });
    // Substituted on the YAML text, as Flux does: an unquoted ${n} becomes a number.
    assert.equal((here.find((o) => o.metadata.name === 'p-flags')?.data as { replicas: number }).replicas, 5);
    const { stdout } = await inChild({ TIDE_KUSTOMIZE_SERVER: 'off' });
    assert.deepEqual(JSON.parse(stdout), here);
    // And it is kubectl that ran: without it, the build fails.
    await assert.rejects(inChild({ TIDE_KUSTOMIZE_SERVER: 'off', TIDE_KUBECTL: join(root, 'no-kubectl') }), /no-kubectl|ENOENT/);
  });
});

/** tide-kustomize processes this test process started. */
async function childServers(): Promise<number[]> {
  const out: number[] = [];
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const stat = await readFile(`/proc/${p}/stat`, 'utf8').catch(() => '');
    const m = /^\d+ \((.*)\) \S (\d+)/.exec(stat);
    if (m && m[1] === 'tide-kustomize' && Number(m[2]) === process.pid) out.push(Number(p));
  }
  return out;
}
