// npm run demo: Tide's whole loop on this machine, with nothing but the test rig's real servers.
// Starts a kube-apiserver and a Git server, pushes examples/fleet, bootstraps cluster "dev" from
// clusters/dev, scales a Deployment by hand and shows Tide putting it back.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { main } from '../shared/cli/main.ts';
import { runTool } from '../shared/tools/run-tool.ts';
import { startGitServer } from '../test/rig/git-server.ts';
import { startKube } from '../test/rig/kube.ts';
import { repoRoot } from '../test/rig/paths.ts';

const step = (s: string) => console.log(`\n━━ ${s}`);
async function files(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for (const e of await readdir(d)) {
      const p = join(d, e);
      if ((await stat(p)).isDirectory()) await walk(p);
      else out[relative(dir, p)] = await readFile(p, 'utf8');
    }
  };
  await walk(dir);
  return out;
}

/** tide-kustomize (tools/kustomize-server), so that builds do not start kubectl each time; cached after the first run. */
async function buildKustomizeServer(): Promise<void> {
  await promisify(execFile)('bash', [fileURLToPath(new URL('../tools/kustomize-server/build.sh', import.meta.url))], { timeout: 15 * 60_000 });
}

step('starting a real kube-apiserver (with its controller manager) and a Git server on loopback');
console.log('   (the first run builds them from the Go module proxy: about ten minutes, once)');
const [kube, git] = await Promise.all([startKube({ name: 'dev' }), startGitServer(), buildKustomizeServer()]);
const state = await mkdtemp(join(tmpdir(), 'tide-demo-'));
const kubectl = (...args: string[]) => runTool('kubectl', ['--kubeconfig', kube.kubeconfigPath, ...args]).then((r) => r.stdout.trim());
let code = 1;
try {
  step('pushing examples/fleet (clusters/dev, infrastructure/, apps/) to the Git server');
  await git.createRepo('fleet');
  const sha = await git.commit('fleet', await files(join(repoRoot, 'examples', 'fleet')), { message: 'the example fleet' });
  console.log(`   ${git.url('fleet')} main@${sha.slice(0, 12)}`);

  step('tide bootstrap --cluster dev --path clusters/dev');
  const cli = (...args: string[]) => main([...args, '--state', state]);
  if ((await cli('bootstrap', '--cluster', 'dev', '--url', git.url('fleet'), '--kubeconfig', kube.kubeconfigPath, '--username', git.username, '--password', git.password)) !== 0) throw new Error('bootstrap failed');

  step('tide get all');
  await cli('get', 'all');
  console.log(`\n$ kubectl -n podinfo get deployment podinfo\n${await kubectl('-n', 'podinfo', 'get', 'deployment', 'podinfo', '-o', 'custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas,CLUSTER:.metadata.labels.cluster')}`);

  step('someone runs kubectl scale --replicas=5 by hand');
  await kubectl('-n', 'podinfo', 'scale', 'deployment/podinfo', '--replicas=5');
  console.log(`   replicas now ${await kubectl('-n', 'podinfo', 'get', 'deployment', 'podinfo', '-o', 'jsonpath={.spec.replicas}')}`);

  step('tide reconcile kustomization apps');
  await cli('reconcile', 'kustomization', 'apps');
  console.log(`   replicas back to ${await kubectl('-n', 'podinfo', 'get', 'deployment', 'podinfo', '-o', 'jsonpath={.spec.replicas}')}, as Git says`);

  step('tide events');
  await cli('events');
  code = 0;
  console.log(`\n✔ demo done. State was in ${state}; run 'tide local' against your own kubeconfig context next.`);
} catch (err) {
  console.error(`✗ demo failed: ${(err as Error).message}`);
} finally {
  await kube.stop();
  await git.stop();
  await rm(state, { recursive: true, force: true });
}
process.exit(code);
