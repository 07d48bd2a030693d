// The apply engine on 1,000 objects (ConfigMaps, Services, Deployments across 20 namespaces) on a
// real apiserver, against two baselines run on the same apiserver in the same process:
// - `kubectl apply --server-side` of the same objects (same field manager, same labels), and
// - Flux's method: a GET and a server-side dry-run apply of every object before deciding.
// Quantities are written in non-canonical forms (1024Mi, 0.1 cpu) that the apiserver rewrites
// (1Gi, 100m): a naive desired-vs-live comparison would call every Deployment changed.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { stringify } from 'yaml';
import { applyAll, summarize, type AppliedEntry, type Unstructured } from '../shared/apply/index.ts';
import { clusterFromKubeconfigFile } from '../shared/kube/kubeconfig.ts';
import { resourcePath } from '../shared/kube/discovery.ts';
import { runTool } from '../shared/tools/run-tool.ts';
import { mapLimit } from '../shared/util/map-limit.ts';
import { startKube } from '../test/rig/kube.ts';
import { NAMESPACES, objects, ownerLabels } from './apply-set.ts';
import { compare, report, time, type Timing } from './measure.ts';

function runNode(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, args, { env: { ...process.env, ...env }, maxBuffer: 1 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout))),
  );
}

async function writeYaml(dir: string, objs: Unstructured[]): Promise<string> {
  const file = join(dir, 'set.yaml');
  await writeFile(file, objs.map((o) => stringify(o)).join('---\n'));
  return file;
}

const kube = await startKube({ name: 'bench', controllerManager: false });
const cluster = clusterFromKubeconfigFile('bench', kube.kubeconfigPath);
const dir = await mkdtemp(join(tmpdir(), 'tide-bench-'));
const kubectl = (file: string) => runTool('kubectl', ['--kubeconfig', kube.kubeconfigPath, 'apply', '--server-side', '--field-manager=tide', '--force-conflicts', '-f', file], { timeoutMs: 600_000 });
const once = async (fn: () => Promise<unknown>): Promise<Timing> => time(1, fn);
try {
  for (let n = 0; n < NAMESPACES; n++) await kube.api('POST', '/api/v1/namespaces', { metadata: { name: `bench-${n}` } });
  const set = objects(0);
  const file = await writeYaml(dir, set);
  const created = await applyAll(cluster, set, { ownerLabels });
  if (created.failed) throw new Error(`${summarize(created.changeSet)}: ${created.changeSet.find((e) => e.action === 'failed')?.reason}`);
  let inventory: AppliedEntry[] = created.inventory;
  console.log(`set: ${set.length} objects in ${NAMESPACES} namespaces: ${summarize(created.changeSet)}`);

  // 1. Nothing changed.
  const noop = async () => {
    const r = await applyAll(cluster, set, { ownerLabels, previous: inventory });
    if (summarize(r.changeSet) !== `${set.length} unchanged`) throw new Error(`not a no-op: ${summarize(r.changeSet)}`);
    inventory = r.inventory;
  };
  await kubectl(file); // kubectl's first run settles its own bookkeeping; time the next ones
  await noop();
  const vsKubectl = await compare(3, () => once(noop), () => once(() => kubectl(file)));
  report('no-op reconcile, 1000 objects', 'Tide', 'kubectl apply --server-side', vsKubectl);

  // Flux's method: GET, then a dry-run server-side apply, for every object.
  const mappings = new Map<string, Awaited<ReturnType<typeof cluster.discovery.resolve>>>();
  for (const o of set) mappings.set(`${o.apiVersion}/${o.kind}`, await cluster.discovery.resolve(o.apiVersion, o.kind));
  const fluxMethod = () => mapLimit(set, 16, async (o) => {
    const path = resourcePath(mappings.get(`${o.apiVersion}/${o.kind}`)!, o.metadata.namespace, o.metadata.name);
    await cluster.client.call('GET', path);
    await cluster.client.call('PATCH', path, { body: o, contentType: 'application/apply-patch+yaml', query: { fieldManager: 'tide', force: true, dryRun: 'All' } });
  });
  const vsFlux = await compare(3, () => once(noop), () => once(fluxMethod));
  report('no-op reconcile, 1000 objects', 'Tide', 'GET + dry-run apply per object (Flux, same concurrency 16)', vsFlux);

  // 2. Every object changed.
  let rev = 1;
  const changedTide = async () => {
    const r = await applyAll(cluster, objects(rev++), { ownerLabels, previous: inventory });
    if (r.changeSet.filter((e) => e.action === 'configured').length !== set.length) throw new Error(`not all configured: ${summarize(r.changeSet)}`);
    inventory = r.inventory;
  };
  const changedKubectl = async () => {
    const f = await writeYaml(dir, objects(rev++));
    return kubectl(f);
  };
  const changed = await compare(3, () => once(changedTide), () => once(changedKubectl));
  report('every object changed, 1000 objects', 'Tide', 'kubectl apply --server-side', changed);
  // The floor: one server-side apply PATCH per object at the same concurrency, nothing else.
  const rawPatch = () => {
    const objs = objects(rev++);
    return mapLimit(objs, 16, (o) => cluster.client.call('PATCH', resourcePath(mappings.get(`${o.apiVersion}/${o.kind}`)!, o.metadata.namespace, o.metadata.name), {
      body: o, contentType: 'application/apply-patch+yaml', query: { fieldManager: 'tide', force: true },
    }));
  };
  const floor = await compare(3, () => once(changedTide), () => once(rawPatch));
  report('every object changed, 1000 objects', 'Tide', 'raw PATCH per object (the floor, concurrency 16)', floor, 'a ratio near 1 means the apiserver is the limit');

  // Memory: Tide alone in its own process, bundled with esbuild as a Lambda function is (no tsx),
  // applying the whole set created, unchanged and changed.
  const bundle = join(dir, 'apply-memory.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL('./apply-memory.ts', import.meta.url))],
    bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: bundle, logLevel: 'error',
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  });
  console.log((await runNode([bundle], { TIDE_BENCH_KUBECONFIG: kube.kubeconfigPath })).trim());
} finally {
  cluster.client.close();
  await kube.stop();
  await rm(dir, { recursive: true, force: true });
}
