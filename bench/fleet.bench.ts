// Fleet time-to-production, the shape fluxcd/flux-benchmark uses: N Kustomizations from one repo,
// each of 4 objects (a Deployment scaled to 0, a ServiceAccount, a Service, an Ingress), timed
// from bootstrap until all are Ready, in tide local on one apiserver. Baseline: kubectl apply
// --server-side of the same 4N objects (rendered once, applied by kubectl in one command).
// TIDE_FLEET_SIZES=100,1000 (default 100).
//
// The rig's controller manager runs with --kube-api-qps=500 here (TIDE_FLEET_KCM_QPS; 20 is its
// default): at 20 it can create and observe about 5 Deployments a second, which bounds any tool
// that waits for the Deployments to be Ready (22 s for 100 here, whatever Tide does), so the
// figure would measure the controller manager, not Tide.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../shared/cli/main.ts';
import { childCpuSeconds, processCpuSeconds } from './measure.ts';
import { openLocal } from '../shared/local/install.ts';
import { runTool } from '../shared/tools/run-tool.ts';
import { startGitServer } from '../test/rig/git-server.ts';
import { startKube } from '../test/rig/kube.ts';

const sizes = (process.env.TIDE_FLEET_SIZES ?? '100').split(',').map(Number);

function app(i: number, ns: string): string {
  const name = `app-${i}`;
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${ns}}
spec:
  replicas: 0
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {serviceAccountName: ${name}, containers: [{name: app, image: "ghcr.io/stefanprodan/podinfo:6.7.0", ports: [{containerPort: 9898}]}]}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ${name}, namespace: ${ns}}
---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec: {selector: {app: ${name}}, ports: [{port: 80, targetPort: 9898}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}, namespace: ${ns}}
spec:
  rules:
  - host: ${name}.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: ${name}, port: {number: 80}}}}]}
`;
}

const kcmQps = Number(process.env.TIDE_FLEET_KCM_QPS ?? 500);

for (const n of sizes) {
  const [kube, git] = await Promise.all([
    startKube({ name: `fleet-${n}`, controllerManagerArgs: [`--kube-api-qps=${kcmQps}`, `--kube-api-burst=${2 * kcmQps}`, '--concurrent-deployment-syncs=20'] }),
    startGitServer(),
  ]);
  const state = await mkdtemp(join(tmpdir(), 'tide-fleet-bench-'));
  try {
    await git.createRepo('fleet');
    const files: Record<string, string> = { 'infrastructure/namespaces.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: tide-bench}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: kubectl-bench}\n' };
    files['clusters/bench/infrastructure.yaml'] = JSON.stringify({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'infrastructure', namespace: 'flux-system' }, spec: { interval: '1h', path: './infrastructure', prune: true, sourceRef: { kind: 'GitRepository', name: 'flux-system' } } });
    for (let i = 0; i < n; i++) {
      files[`apps/app-${i}/app.yaml`] = app(i, 'tide-bench');
      files[`clusters/bench/app-${i}.yaml`] = JSON.stringify({
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: `app-${i}`, namespace: 'flux-system' },
        spec: { interval: '1h', timeout: '2m', path: `./apps/app-${i}`, prune: true, wait: true, dependsOn: [{ name: 'infrastructure' }], sourceRef: { kind: 'GitRepository', name: 'flux-system' } },
      });
    }
    await git.commit('fleet', files);

    // CPU by part: Tide's process with the build processes it started (tide-kustomize, or kubectl
    // once reaped), and each control-plane daemon.
    const cpuOf = () => [processCpuSeconds(process.pid, true) + childCpuSeconds('tide-kustomize'), ...kube.daemons.map((d) => processCpuSeconds(d.pid))];
    const daemonCpu0 = cpuOf();
    const started = Date.now();
    const code = await main(['bootstrap', '--cluster', 'bench', '--url', git.url('fleet'), '--kubeconfig', kube.kubeconfigPath, '--username', git.username, '--password', git.password, '--no-wait', '--state', state]);
    if (code !== 0) throw new Error('bootstrap failed');
    const install = openLocal(state);
    const results = await install.runner.once();
    const tideMs = Date.now() - started;
    const cpu = cpuOf().map((c, i) => c - daemonCpu0[i]!);
    const notReady = [...results.values()].filter((r) => !r.outcome.ready);
    install.close();
    if (notReady.length) throw new Error(`${notReady.length} not Ready: ${notReady[0]!.outcome.message}`);

    // Baseline: the same 4N objects, rendered, into another namespace, by kubectl in one command.
    const all = Array.from({ length: n }, (_, i) => app(i, 'kubectl-bench')).join('---\n');
    const file = join(state, 'all.yaml');
    await writeFile(file, all);
    const k0 = Date.now();
    await runTool('kubectl', ['--kubeconfig', kube.kubeconfigPath, 'apply', '--server-side', '-f', file], { timeoutMs: 1_800_000 });
    const kubectlMs = Date.now() - k0;
    console.log(
      `fleet of ${n} Kustomizations (${4 * n} objects), bootstrap to all Ready: ${(tideMs / 1000).toFixed(1)} s in tide local` +
        ` | kubectl apply --server-side of the same ${4 * n} objects: ${(kubectlMs / 1000).toFixed(1)} s (Tide/kubectl ${(tideMs / kubectlMs).toFixed(2)}x the time, while also building, checking health and keeping inventories)` +
        ` | CPU while Tide ran: Tide ${cpu[0]!.toFixed(1)} s (with its build processes), ${kube.daemons.map((d, i) => `${d.name.split(' ')[0]} ${cpu[i + 1]!.toFixed(1)} s`).join(', ')}` +
        ` | peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (tsx included) | controller manager at --kube-api-qps=${kcmQps}`,
    );
  } finally {
    await kube.stop();
    await git.stop();
    await rm(state, { recursive: true, force: true });
  }
}
