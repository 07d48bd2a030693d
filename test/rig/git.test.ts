import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { git, startGitServer, type GitServer } from './git-server.ts';
import { startSshGit, type SshGit } from './ssh-git.ts';

const run = promisify(execFile);
let server: GitServer;
let ssh: SshGit;
const scratch: string[] = [];

before(async () => {
  server = await startGitServer();
  ssh = await startSshGit(server.root);
  await server.createRepo('fleet');
});
after(async () => {
  await ssh?.stop();
  await server?.stop();
  for (const d of scratch) await rm(d, { recursive: true, force: true });
});

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tide-git-test-'));
  scratch.push(d);
  return d;
}

describe('rig: Git over HTTP (git http-backend, basic auth)', () => {
  it('serves what was pushed, to the right credentials only', async () => {
    const sha = await server.commit('fleet', { 'clusters/dev/kustomization.yaml': 'resources: []\n' }, { tag: 'v1.0.0' });
    const out = await tmp();
    await git(['clone', '--quiet', '--depth=1', server.authUrl('fleet'), out]);
    assert.equal(await readFile(join(out, 'clusters/dev/kustomization.yaml'), 'utf8'), 'resources: []\n');
    assert.equal((await git(['rev-parse', 'HEAD'], out)).trim(), sha);
    const refs = await git(['ls-remote', server.authUrl('fleet')]);
    assert.match(refs, new RegExp(`${sha}\\trefs/heads/main`));
    assert.match(refs, /refs\/tags\/v1\.0\.0/);

    const wrong = server.url('fleet').replace('http://', 'http://tide:wrong@');
    await assert.rejects(git(['ls-remote', wrong]), /Authentication failed|401/);
    await assert.rejects(git(['ls-remote', server.url('fleet')]), /could not read Username|Authentication failed|401/);
    assert.ok(server.requests.some((r) => r.status === 401), 'the refusals were recorded');
  });

  it('deletes files and moves branches on later commits', async () => {
    await server.commit('fleet', { 'apps/a.yaml': 'a: 1\n' }, { branch: 'feature' });
    const second = await server.commit('fleet', { 'apps/a.yaml': null, 'apps/b.yaml': 'b: 2\n' }, { branch: 'feature' });
    const out = await tmp();
    await git(['clone', '--quiet', '--branch', 'feature', server.authUrl('fleet'), out]);
    assert.equal((await git(['rev-parse', 'HEAD'], out)).trim(), second);
    assert.deepEqual((await git(['ls-files', 'apps'], out)).trim().split('\n'), ['apps/b.yaml']);
  });
});

describe('rig: Git over SSH (sshd, deploy key, git-shell)', () => {
  it('clones with the deploy key and a strict known_hosts', async () => {
    const sha = await server.commit('fleet', { 'README.md': 'fleet\n' });
    const out = await tmp();
    await run('git', ['clone', '--quiet', ssh.url('fleet'), out], { env: { ...process.env, GIT_SSH_COMMAND: ssh.sshCommand() } });
    assert.equal((await git(['rev-parse', 'HEAD'], out)).trim(), sha);
  });

  it('refuses another key, and a shell', async () => {
    const dir = await tmp();
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'other')]);
    await assert.rejects(
      run('git', ['ls-remote', ssh.url('fleet')], { env: { ...process.env, GIT_SSH_COMMAND: ssh.sshCommand(join(dir, 'other')) } }),
      /Permission denied/,
    );
    const shell = await run('ssh', [...ssh.sshCommand().split(' ').slice(1), '-p', String(ssh.port), `${ssh.user}@127.0.0.1`, 'id']).then(
      (r) => r.stdout + r.stderr,
      (e: { stderr: string }) => e.stderr,
    );
    assert.doesNotMatch(shell, /uid=/, 'git-shell runs git commands only');
  });
});
