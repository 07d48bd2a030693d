// The baseline of the push benches, and the app they push: what a CI job does for a commit.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runTool } from '../shared/tools/run-tool.ts';

const run = promisify(execFile);

/** A 50-ConfigMap app under `<ns>/`, each carrying the revision number. */
export function appFiles(rev: number, ns: string): Record<string, string> {
  const files: Record<string, string> = { [`${ns}/kustomization.yaml`]: `namespace: ${ns}\nresources:\n${Array.from({ length: 50 }, (_, i) => `- cm-${i}.yaml`).join('\n')}\n` };
  for (let i = 0; i < 50; i++) files[`${ns}/cm-${i}.yaml`] = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${i}\ndata:\n  rev: "${rev}"\n`;
  return files;
}

/** git clone --depth 1, kubectl kustomize, kubectl apply --server-side; returns the milliseconds it took. */
export async function ciJob(cloneUrl: string, path: string, kubeconfig: string): Promise<number> {
  const t0 = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'tide-ci-'));
  try {
    await run('git', ['clone', '--quiet', '--depth', '1', cloneUrl, dir]);
    const rendered = await runTool('kubectl', ['kustomize', join(dir, path)]);
    await runTool('kubectl', ['--kubeconfig', kubeconfig, 'apply', '--server-side', '-f', '-'], { input: rendered.stdout });
    return performance.now() - t0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The p-th percentile (nearest rank). */
export const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
