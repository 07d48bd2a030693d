// Render: Tide's whole build of 100 Kustomizations (overlay, confinement checks, kustomize, parse)
// with tide-kustomize, the resident kustomize library, against the baseline of running
// `kubectl kustomize DIR` (the same kustomize, v5.7.1) for each of the same 100 directories.
// Each directory holds the fleet bench's app: a Deployment, a ServiceAccount, a Service and an
// Ingress. Time and CPU (with the child processes) for the 100, best of 3, one build at a time.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildKustomization } from '../shared/render/index.ts';
import { kustomizeServerPath } from '../shared/tools/binaries.ts';
import { runTool } from '../shared/tools/run-tool.ts';
import { childCpuSeconds, processCpuSeconds } from './measure.ts';

const N = 100;
const ROUNDS = 3;

const app = (i: number) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: app-${i}, namespace: bench}
spec:
  replicas: 0
  selector: {matchLabels: {app: app-${i}}}
  template:
    metadata: {labels: {app: app-${i}}}
    spec: {serviceAccountName: app-${i}, containers: [{name: app, image: "ghcr.io/stefanprodan/podinfo:6.7.0"}]}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: app-${i}, namespace: bench}
---
apiVersion: v1
kind: Service
metadata: {name: app-${i}, namespace: bench}
spec: {selector: {app: app-${i}}, ports: [{port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: app-${i}, namespace: bench}
spec: {rules: [{host: app-${i}.example.com}]}
`;

if (!(await kustomizeServerPath())) throw new Error('tide-kustomize is not built: run tools/kustomize-server/build.sh');
const root = await mkdtemp(join(tmpdir(), 'tide-render-bench-'));
try {
  for (let i = 0; i < N; i++) {
    await mkdir(join(root, 'apps', `app-${i}`), { recursive: true });
    await writeFile(join(root, 'apps', `app-${i}`, 'app.yaml'), app(i));
    await writeFile(join(root, 'apps', `app-${i}`, 'kustomization.yaml'), 'resources: [app.yaml]\n');
  }
  const cpu = () => processCpuSeconds(process.pid, true) + childCpuSeconds('tide-kustomize');
  const measure = async (fn: (i: number) => Promise<unknown>) => {
    const c0 = cpu();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await fn(i);
    return { ms: performance.now() - t0, cpuMs: (cpu() - c0) * 1000 };
  };
  const tide = (i: number) => buildKustomization(root, { path: `./apps/app-${i}` });
  const kubectl = (i: number) => runTool('kubectl', ['kustomize', join(root, 'apps', `app-${i}`)], { env: { PATH: '/usr/bin:/bin', HOME: root } });
  await tide(0); // start the resident process
  let best: { tide?: { ms: number; cpuMs: number }; kubectl?: { ms: number; cpuMs: number } } = {};
  for (let r = 0; r < ROUNDS; r++) {
    const k = await measure(kubectl);
    const t = await measure(tide);
    if (!best.kubectl || k.ms < best.kubectl.ms) best.kubectl = k;
    if (!best.tide || t.ms < best.tide.ms) best.tide = t;
  }
  const { tide: t, kubectl: k } = best as Required<typeof best>;
  console.log(
    `render: ${(k.ms / t.ms).toFixed(1)}x faster than kubectl kustomize per directory, ${(k.cpuMs / t.cpuMs).toFixed(1)}x less CPU` +
      ` | Tide (tide-kustomize, with overlay, confinement and parse) ${t.ms.toFixed(0)} ms for ${N} (${(t.ms / N).toFixed(2)} ms, ${(t.cpuMs / N).toFixed(2)} ms CPU each)` +
      ` | kubectl kustomize ${k.ms.toFixed(0)} ms (${(k.ms / N).toFixed(2)} ms, ${(k.cpuMs / N).toFixed(2)} ms CPU each)` +
      ` | peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
  );
} finally {
  await rm(root, { recursive: true, force: true });
}
process.exit(0);
