import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../shared/cli/main.ts';
import { openLocal, type LocalInstall } from '../../shared/local/install.ts';
import { startGitServer, type GitServer } from '../rig/git-server.ts';
import { startKube, type Kube } from '../rig/kube.ts';
import { kustomization, yamlOf } from './fleet.ts';

// Flux's spec.kubeConfig.secretRef: a Kustomization of cluster dev that applies to another cluster,
// reached through a kubeconfig kept in a Secret, checked as any kubeconfig from a store.
let git: GitServer;
let dev: Kube;
let remote: Kube;
let state: string;
let install: LocalInstall | undefined;

const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-dev\n  namespace: default\ndata:\n  placed: remote\n';
const execKubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: ["-c", "echo pwned"]}}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`;

before(async () => {
  [git, dev, remote] = await Promise.all([startGitServer(), startKube({ name: 'dev', controllerManager: false }), startKube({ name: 'remote', controllerManager: false })]);
  state = await mkdtemp(join(tmpdir(), 'tide-remote-'));
  const secrets = join(state, 'secrets', 'dev', 'flux-system');
  await mkdir(secrets, { recursive: true });
  await writeFile(join(secrets, 'remote-kubeconfig.json'), JSON.stringify({ value: await readFile(remote.kubeconfigPath, 'utf8') }));
  await writeFile(join(secrets, 'exec-kubeconfig.json'), JSON.stringify({ 'value.yaml': execKubeconfig }));
  await git.createRepo('fleet');
  await git.commit('fleet', {
    'remote/cm.yaml': cm,
    'clusters/dev/remote.yaml': yamlOf(kustomization('remote', './remote', { kubeConfig: { secretRef: { name: 'remote-kubeconfig' } } })),
    'clusters/dev/exec.yaml': yamlOf(kustomization('exec', './remote', { kubeConfig: { secretRef: { name: 'exec-kubeconfig' } } })),
  });
});
after(async () => {
  install?.close();
  await Promise.all([dev?.stop(), remote?.stop(), git?.stop()]);
  await rm(state, { recursive: true, force: true });
});

describe('Kustomization spec.kubeConfig', () => {
  it('applies to the cluster of the kubeconfig Secret, not its own; refuses an exec kubeconfig', async () => {
    const code = await main(['bootstrap', '--cluster', 'dev', '--url', git.url('fleet'), '--kubeconfig', dev.kubeconfigPath,
      '--username', git.username, '--password', git.password, '--no-wait', '--state', state]);
    assert.equal(code, 0);
    install = openLocal(state);
    const results = await install.runner.once();
    const outcome = (name: string) => [...results.values()].find((r) => r.ref.name === name)?.outcome;
    assert.equal(outcome('remote')?.ready, true, outcome('remote')?.message);
    assert.equal((await remote.api<{ data: { placed: string } }>('GET', '/api/v1/namespaces/default/configmaps/from-dev')).body.data.placed, 'remote');
    assert.equal((await dev.api('GET', '/api/v1/namespaces/default/configmaps/from-dev')).status, 404, 'not applied to its own cluster');
    const exec = outcome('exec');
    assert.equal(exec?.ready, false);
    assert.match(exec?.message ?? '', /dev\/flux-system\/Kustomization\/exec: cluster dev: kubeconfig in Secret flux-system\/exec-kubeconfig key value\.yaml: .*exec/);
  });
});
