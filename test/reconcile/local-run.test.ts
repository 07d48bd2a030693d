import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../shared/cli/main.ts';
import { openLocal, type LocalInstall } from '../../shared/local/install.ts';
import type { PassResult } from '../../shared/local/runner.ts';
import { startGitServer, type GitServer } from '../rig/git-server.ts';
import { startKube, type Kube } from '../rig/kube.ts';
import { deploymentYaml, fleet, kustomization, yamlOf } from './fleet.ts';

// tide local running continuously: the source polls every second, the Kustomizations every ten
// minutes; a push must still be applied within seconds, through "Source Updated".
let git: GitServer;
let kube: Kube;
let state: string;
let install: LocalInstall;
const controller = new AbortController();
let running: Promise<void>;
const results: PassResult[] = [];

before(async () => {
  [git, kube] = await Promise.all([startGitServer(), startKube({ name: 'live', controllerManager: false })]);
  state = await mkdtemp(join(tmpdir(), 'tide-live-'));
  await git.createRepo('fleet');
  await git.commit('fleet', fleet(['live']));
  const code = await main(['bootstrap', '--cluster', 'live', '--url', git.url('fleet'), '--kubeconfig', kube.kubeconfigPath,
    '--username', git.username, '--password', git.password, '--interval', '1s', '--no-wait', '--state', state]);
  assert.equal(code, 0);
  install = openLocal(state);
  running = install.runner.run(controller.signal, (r) => void results.push(r), 200);
});
after(async () => {
  controller.abort();
  await running;
  install?.close();
  await kube?.stop();
  await git?.stop();
  await rm(state, { recursive: true, force: true });
});

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last results: ${JSON.stringify(results.slice(-4).map((r) => [r.ref.name, r.outcome.message]))}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
const replicas = async () => (await kube.api<{ spec?: { replicas: number } }>('GET', '/apis/apps/v1/namespaces/podinfo/deployments/podinfo')).body.spec?.replicas;

describe('tide local, running', () => {
  it('brings the cluster up from nothing', async () => {
    await until('replicas 2', async () => ((await replicas()) === 2 ? true : undefined));
  });

  it('applies a push within seconds, though the Kustomizations poll every ten minutes', async () => {
    const pushed = Date.now();
    await git.commit('fleet', { 'apps/deployment.yaml': deploymentYaml('4') });
    await until('replicas 4', async () => ((await replicas()) === 4 ? true : undefined), 20_000);
    assert.ok(Date.now() - pushed < 20_000);
    const appsRuns = results.filter((r) => r.ref.name === 'apps');
    assert.ok(appsRuns.every((r) => r.outcome.requeueAfterMs === undefined || r.outcome.requeueAfterMs >= 60_000), 'apps itself was not on a short interval');
  });

  it('a Stalled Kustomization is reconciled again as soon as Git fixes its spec', async () => {
    const ref = { cluster: 'live', namespace: 'flux-system', kind: 'Kustomization', name: 'late' };
    const ready = async () => (await install.ctx.store.status.get(ref))?.value.conditions.find((c) => c.type === 'Ready');
    await git.commit('fleet', { 'clusters/live/late.yaml': yamlOf(kustomization('late', './infrastructure', { interval: 'soon' })) });
    await until('Stalled', async () => ((await ready())?.reason === 'InvalidSpec' ? true : undefined), 20_000);
    await git.commit('fleet', { 'clusters/live/late.yaml': yamlOf(kustomization('late', './infrastructure')) });
    await until('Ready after the fix', async () => ((await ready())?.status === 'True' ? true : undefined), 20_000);
  });
});
