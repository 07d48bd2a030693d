import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../shared/cli/main.ts';
import { openLocal, type LocalInstall } from '../../shared/local/install.ts';
import { reconcileGitRepository } from '../../shared/reconcile/git-repository.ts';
import { startGitServer, type GitServer } from '../rig/git-server.ts';
import { startKube, type Kube } from '../rig/kube.ts';
import { startSshGit, type SshGit } from '../rig/ssh-git.ts';
import { fleet } from './fleet.ts';

// A fleet bootstrapped over SSH with a deploy key and a strict known_hosts, as most Flux users do.
let git: GitServer;
let ssh: SshGit;
let kube: Kube;
let state: string;
let install: LocalInstall;

before(async () => {
  [git, kube] = await Promise.all([startGitServer(), startKube({ name: 'ssh', controllerManager: false })]);
  ssh = await startSshGit(git.root);
  state = await mkdtemp(join(tmpdir(), 'tide-ssh-'));
  await git.createRepo('fleet');
  await git.commit('fleet', fleet(['ssh']));
});
after(async () => {
  install?.close();
  await ssh?.stop();
  await kube?.stop();
  await git?.stop();
  await rm(state, { recursive: true, force: true });
});

describe('an SSH GitRepository', () => {
  it('bootstraps the cluster with the deploy key, and the key never reaches an event or the log', async () => {
    const code = await main(['bootstrap', '--cluster', 'ssh', '--url', ssh.url('fleet'), '--kubeconfig', kube.kubeconfigPath,
      '--private-key-file', ssh.deployKeyPath, '--known-hosts-file', ssh.knownHostsPath, '--state', state]);
    assert.equal(code, 0);
    install = openLocal(state);
    const dep = await kube.api<{ spec: { replicas: number } }>('GET', '/apis/apps/v1/namespaces/podinfo/deployments/podinfo');
    assert.equal(dep.body.spec.replicas, 2);
    const st = (await install.ctx.store.status.get({ cluster: 'ssh', namespace: 'flux-system', kind: 'GitRepository', name: 'flux-system' }))?.value;
    assert.match((st?.artifact as { revision: string }).revision, /^main@sha1:[0-9a-f]{40}$/);
    const keyLine = ssh.deployKey.split('\n')[1]!;
    for (const file of ['events.jsonl', 'tide.log']) {
      assert.ok(!(await readFile(join(state, file), 'utf8')).includes(keyLine), `${file} holds no key material`);
    }
  });

  it('reconciles a new revision over one SSH connection, and an unchanged one over one connection too', async () => {
    const ref = { cluster: 'ssh', namespace: 'flux-system', kind: 'GitRepository', name: 'flux-system' };
    const sha = await git.commit('fleet', { 'apps/podinfo/extra.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: podinfo}\n' });
    const connections = async () => (await ssh.activity()).connections;
    let before = await connections();
    const fresh = await reconcileGitRepository(install.ctx, ref);
    assert.equal(fresh.revision, `main@sha1:${sha}`, fresh.message);
    assert.equal((await connections()) - before, 1, 'the listing and the fetch share one connection');
    before = await connections();
    const again = await reconcileGitRepository(install.ctx, ref);
    assert.equal(again.message, 'unchanged');
    assert.equal((await connections()) - before, 1);
  });
});
