import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { fetchArtifact, resolveRevision, type GitSourceSpec } from '../../shared/sources/git/index.ts';
import { openRemote } from '../../shared/sources/git/remote.ts';
import { git as gitCli, startGitServer, type GitServer } from '../rig/git-server.ts';
import { startSshGit, type SshGit } from '../rig/ssh-git.ts';
import { commitAndPush, inClone, readTarball, rejectsWith } from './git-fixtures.ts';

const run = promisify(execFile);

let server: GitServer;
let sshd: SshGit;
let scratch: string;
const REPO = 'ssh-app';
let first: string;
let tip: string;

before(async () => {
  server = await startGitServer();
  sshd = await startSshGit(server.root);
  scratch = await mkdtemp(join(tmpdir(), 'tide-git-ssh-test-'));
  await server.createRepo(REPO);
  first = await server.commit(REPO, { 'apps/a.yaml': 'a: 1\n', 'README.md': 'hello\n' }, { tag: 'v1.0.0' });
  tip = await server.commit(REPO, { 'apps/b.yaml': 'b: 2\n', 'run.sh': '#!/bin/sh\necho hi\n' });
  await inClone(server, REPO, async (work) => {
    await writeFile(join(work, 'apps/c.yaml'), 'c: 3\n');
    await commitAndPush(work, 'on a branch', 'feature');
    await gitCli(['tag', '-a', 'v2.0.0', '-m', 'release 2', tip], work);
    await gitCli(['push', '--quiet', 'origin', 'v2.0.0'], work);
  });
});
after(async () => {
  await sshd?.stop();
  await server?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

function sshSpec(extra: Partial<GitSourceSpec> = {}, repo = REPO): GitSourceSpec {
  return {
    id: `flux-system/${repo}`,
    url: sshd.url(repo),
    credentials: { identity: sshd.deployKey, knownHosts: sshd.knownHosts },
    secret: 'flux-system/ssh-credentials',
    ref: { branch: 'main' },
    ...extra,
  };
}

function httpSpec(extra: Partial<GitSourceSpec> = {}): GitSourceSpec {
  return { id: `flux-system/${REPO}`, url: server.url(REPO), credentials: { username: server.username, password: server.password }, ...extra };
}

/** A fresh key pair made by ssh-keygen; returns the private key text. */
async function newKey(name: string, type = 'ed25519'): Promise<{ key: string; pub: string; path: string }> {
  const path = join(scratch, name);
  await run('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', name, '-f', path]);
  return { key: await readFile(path, 'utf8'), pub: (await readFile(`${path}.pub`, 'utf8')).trim(), path };
}

/** No line of the key's body appears in the message. */
function assertNoKeyMaterial(message: string, key: string): void {
  for (const line of key.split('\n')) {
    if (line.length >= 16 && !line.startsWith('-----')) assert.ok(!message.includes(line), `key material in: ${message}`);
  }
}

describe('GitRepository over SSH', () => {
  it('resolveRevision gives the same revision as over HTTP', async () => {
    const overSsh = await resolveRevision(sshSpec({ ref: { branch: 'main' } }));
    assert.deepEqual(overSsh, { revision: `main@sha1:${tip}`, commit: tip });
    assert.deepEqual(overSsh, await resolveRevision(httpSpec({ ref: { branch: 'main' } })));
  });

  it('fetchArtifact gives the same tarball (sha256) as over HTTP for the same commit', async () => {
    const [ssh, http] = [await fetchArtifact(sshSpec({ ref: { branch: 'main' } })), await fetchArtifact(httpSpec({ ref: { branch: 'main' } }))];
    assert.equal(ssh.revision, `main@sha1:${tip}`);
    assert.equal(ssh.commit, http.commit);
    assert.equal(sha256(ssh.tarball), sha256(http.tarball));
    assert.deepEqual([...(await readTarball(ssh.tarball)).keys()].sort(), ['README.md', 'apps/a.yaml', 'apps/b.yaml', 'run.sh']);
  });

  it('a lightweight and an annotated tag', async () => {
    const light = await fetchArtifact(sshSpec({ ref: { tag: 'v1.0.0' } }));
    assert.deepEqual([light.revision, light.commit], [`v1.0.0@sha1:${first}`, first]);
    assert.deepEqual([...(await readTarball(light.tarball)).keys()].sort(), ['README.md', 'apps/a.yaml']);
    const annotated = await fetchArtifact(sshSpec({ ref: { semver: '>=2.0.0' } }));
    assert.deepEqual([annotated.revision, annotated.commit], [`v2.0.0@sha1:${tip}`, tip]);
    await rejectsWith(resolveRevision(sshSpec({ ref: { tag: 'v9' } })), 'RefNotFound', /tag "v9" not found in ssh:\/\//);
  });

  it('a commit, alone and on a branch', async () => {
    const byCommit = await fetchArtifact(sshSpec({ ref: { commit: first } }));
    assert.deepEqual([byCommit.revision, byCommit.commit], [`sha1:${first}`, first]);
    assert.deepEqual([...(await readTarball(byCommit.tarball)).keys()].sort(), ['README.md', 'apps/a.yaml']);
    assert.deepEqual(await resolveRevision(sshSpec({ ref: { branch: 'feature', commit: tip } })), { revision: `feature@sha1:${tip}`, commit: tip });
  });

  it('an encrypted identity opens with the secret password as its passphrase', async () => {
    const path = join(scratch, 'encrypted');
    await writeFile(path, sshd.deployKey, { mode: 0o600 });
    await run('ssh-keygen', ['-q', '-p', '-P', '', '-N', 'correct horse battery', '-f', path]);
    const identity = await readFile(path, 'utf8');
    assert.notEqual(identity, sshd.deployKey);
    const ok = await resolveRevision(sshSpec({ credentials: { identity, password: 'correct horse battery', knownHosts: sshd.knownHosts } }));
    assert.equal(ok.commit, tip);
    const err = await rejectsWith(resolveRevision(sshSpec({ credentials: { identity, knownHosts: sshd.knownHosts } })), 'AuthenticationFailed', /encrypted private key and no password was given/);
    assertNoKeyMaterial(err.message, identity);
  });

  it('a hashed known_hosts (ssh-keygen -H) is understood', async () => {
    const path = join(scratch, 'known_hosts_hashed');
    await writeFile(path, sshd.knownHosts + '\n');
    await run('ssh-keygen', ['-q', '-H', '-f', path]);
    const hashed = await readFile(path, 'utf8');
    assert.match(hashed, /^\|1\|/);
    assert.equal((await resolveRevision(sshSpec({ credentials: { identity: sshd.deployKey, knownHosts: hashed } }))).commit, tip);
  });

  it('a deploy key the server does not know fails AuthenticationFailed, without the key in the message', async () => {
    const { key } = await newKey('wrong-deploy-key');
    const wrong = sshSpec({ credentials: { identity: key, knownHosts: sshd.knownHosts } });
    for (const call of [resolveRevision, fetchArtifact]) {
      const err = await rejectsWith(call(wrong), 'AuthenticationFailed', /GitRepository flux-system\/ssh-app: .* refused the SSH key in secret flux-system\/ssh-credentials/);
      assertNoKeyMaterial(err.message, key);
      assert.ok(!err.message.includes('PRIVATE KEY'));
    }
    const garbage = await rejectsWith(resolveRevision(sshSpec({ credentials: { identity: 'not a key at all, sorry', knownHosts: sshd.knownHosts } })), 'AuthenticationFailed', /is not a private key/);
    assert.ok(!garbage.message.includes('not a key at all'));
  });

  it('a known_hosts with another key for the host fails with the host-key message', async () => {
    const other = (await newKey('other-host-key')).pub.split(' ').slice(0, 2).join(' ');
    const knownHosts = `# some comment\n[127.0.0.1]:${sshd.port} ${other}\n`;
    await rejectsWith(
      resolveRevision(sshSpec({ credentials: { identity: sshd.deployKey, knownHosts } })),
      'AuthenticationFailed',
      new RegExp(`host key of \\[127\\.0\\.0\\.1\\]:${sshd.port} \\(ssh-ed25519 SHA256:\\S+\\) does not match known_hosts in secret flux-system/ssh-credentials: add the server's host key to the secret's known_hosts`),
    );
    // The right key listed for another port, or only a key of another type: no key for this host.
    const wrongPort = sshd.knownHosts.replace(`]:${sshd.port} `, `]:${sshd.port + 1} `);
    await rejectsWith(resolveRevision(sshSpec({ credentials: { identity: sshd.deployKey, knownHosts: wrongPort } })), 'AuthenticationFailed', /known_hosts in secret flux-system\/ssh-credentials has no key for \[127\.0\.0\.1\]:\d+: add the server's host key/);
    const rsa = (await newKey('rsa-host-key', 'rsa')).pub.split(' ').slice(0, 2).join(' ');
    await rejectsWith(
      fetchArtifact(sshSpec({ credentials: { identity: sshd.deployKey, knownHosts: `[127.0.0.1]:${sshd.port} ${rsa}` } })),
      'AuthenticationFailed',
      /127\.0\.0\.1:\d+ offered none of the host key types known_hosts in secret flux-system\/ssh-credentials has for it \(ssh-rsa\): add the server's host key/,
    );
    // A revoked key never passes, even when also listed.
    const revoked = `${sshd.knownHosts}\n@revoked [127.0.0.1]:${sshd.port} ${sshd.knownHosts.split(' ').slice(1).join(' ')}\n`;
    await rejectsWith(resolveRevision(sshSpec({ credentials: { identity: sshd.deployKey, knownHosts: revoked } })), 'AuthenticationFailed', /marked @revoked/);
  });

  it('a missing known_hosts or identity fails before connecting', async () => {
    const err = await rejectsWith(resolveRevision(sshSpec({ credentials: { identity: sshd.deployKey } })), 'AuthenticationFailed', /secret flux-system\/ssh-credentials has no known_hosts.*add the host key of \[127\.0\.0\.1\]:\d+ to the secret's known_hosts \(ssh-keyscan -p \d+ 127\.0\.0\.1/);
    assertNoKeyMaterial(err.message, sshd.deployKey);
    await rejectsWith(resolveRevision(sshSpec({ credentials: undefined, secret: undefined })), 'AuthenticationFailed', /no private key was given: set spec.secretRef/);
  });

  it('a repository path that does not exist fails with a clear message', async () => {
    const url = sshd.url('no-such-repo');
    for (const call of [resolveRevision, fetchArtifact]) {
      await rejectsWith(call(sshSpec({ url })), 'FetchFailed', /GitRepository flux-system\/ssh-app: repository ssh:\/\/.*no-such-repo\.git not found .*check the path in spec.url/);
    }
  });

  it('scp-like URLs are read as SSH, and checked against known_hosts under their host name', () => {
    const key = sshd.deployKey;
    const hostLine = sshd.knownHosts.split(' ').slice(1).join(' ');
    const remote = openRemote({ id: 'ns/r', url: 'git@github.com:org/repo.git', credentials: { identity: key, knownHosts: `gitlab.com,github.com ${hostLine}` } });
    assert.equal(remote.transport, 'ssh');
    assert.equal(remote.url, 'git@github.com:org/repo.git');
    assert.throws(() => openRemote({ id: 'ns/r', url: 'git@github.com:org/repo.git', credentials: { identity: key, knownHosts: `[github.com]:2222 ${hostLine}` } }), /has no key for github\.com/);
    assert.throws(() => openRemote({ id: 'ns/r', url: 'ssh://git@example.com/', credentials: { identity: key, knownHosts: sshd.knownHosts } }), /not a valid SSH URL \(no repository path\)/);
    assert.equal(openRemote({ id: 'ns/r', url: 'https://example.com/r.git' }).transport, 'http');
  });
});

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
