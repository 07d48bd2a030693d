import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';
import { fetchArtifact, fetchArtifactIfChanged, GitSourceError, resolveRevision, type GitSourceSpec } from '../../shared/sources/git/index.ts';
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

describe('GitRepository over SSH: connections', () => {
  const COST = 'ssh-cost';
  let relay: Relay;
  let costTip: string;
  const KIB = 1024;

  before(async () => {
    relay = await startRelay(sshd.port);
    await server.createRepo(COST);
    // Incompressible: ~600 KiB of history the tip no longer has, and ~150 KiB the tip has.
    await server.commit(COST, { 'old.txt': randomBytes(600 * KIB).toString('base64') });
    costTip = await server.commit(COST, { 'old.txt': null, 'tip.txt': randomBytes(150 * KIB).toString('base64') });
  });
  after(async () => relay?.close());

  /** The spec, reaching sshd through the counting relay. */
  const relayed = (extra: Partial<GitSourceSpec> = {}): GitSourceSpec => ({
    ...sshSpec(extra, COST),
    url: sshd.url(COST).replace(`:${sshd.port}/`, `:${relay.port}/`),
    credentials: { identity: sshd.deployKey, knownHosts: sshd.knownHosts.replace(`]:${sshd.port} `, `]:${relay.port} `) },
  });

  /** What `fn` cost: connections and commands as sshd logged them, connections and bytes from the server at the relay. */
  async function cost<T>(fn: () => Promise<T>): Promise<{ result: T; connections: number; commands: number; relayed: number; bytes: number; open: number }> {
    const before = await sshd.activity();
    const [c0, b0] = [relay.connections, relay.bytesFromServer];
    const result = await fn();
    const after = await sshd.activity();
    return {
      result,
      connections: after.connections - before.connections,
      commands: after.commands - before.commands,
      relayed: relay.connections - c0,
      bytes: relay.bytesFromServer - b0,
      open: after.open,
    };
  }

  it('a new revision is listed and fetched over one SSH connection and one git-upload-pack, still shallow', async () => {
    const seen: string[][] = [];
    const fresh = await cost(() => fetchArtifactIfChanged(relayed(), (revision, commit) => (seen.push([revision, commit]), false)));
    assert.deepEqual(seen, [[`main@sha1:${costTip}`, costTip]]);
    assert.ok(!('unchanged' in fresh.result));
    assert.deepEqual([fresh.result.revision, fresh.result.commit], [`main@sha1:${costTip}`, costTip]);
    assert.deepEqual([...(await readTarball(fresh.result.tarball)).keys()], ['tip.txt']);
    assert.deepEqual({ connections: fresh.connections, commands: fresh.commands, relayed: fresh.relayed, open: fresh.open }, { connections: 1, commands: 1, relayed: 1, open: 0 });
    // The tip's blob came (~150 KiB), the older history (~600 KiB) did not: depth 1 as before.
    assert.ok(fresh.bytes > 140 * KIB && fresh.bytes < 400 * KIB, `${fresh.bytes} bytes from the server`);

    // fetchArtifact alone is the same: its listing and its fetch share the connection.
    const plain = await cost(() => fetchArtifact(relayed()));
    assert.equal(plain.result.commit, costTip);
    assert.deepEqual([plain.connections, plain.commands, plain.relayed, plain.open], [1, 1, 1, 0]);
    assert.ok(plain.bytes < 400 * KIB, `${plain.bytes} bytes from the server`);

    // A commit asked for by SHA (the server allows it) goes on the listing's connection too.
    const byCommit = await cost(() => fetchArtifactIfChanged(relayed({ ref: { branch: 'main', commit: costTip } }), () => false));
    assert.ok(!('unchanged' in byCommit.result) && byCommit.result.revision === `main@sha1:${costTip}`);
    assert.deepEqual([byCommit.connections, byCommit.commands, byCommit.relayed, byCommit.open], [1, 1, 1, 0]);
  });

  it('an unchanged revision is one ref listing on one connection and downloads nothing, as resolveRevision', async () => {
    const listing = await cost(() => resolveRevision(relayed()));
    assert.deepEqual([listing.connections, listing.commands, listing.relayed], [1, 1, 1]);
    const workDir = await mkdtemp(join(scratch, 'work-'));
    const same = await cost(() => fetchArtifactIfChanged(relayed(), async (revision) => revision === listing.result.revision, { workDir }));
    assert.deepEqual(same.result, { unchanged: true, revision: `main@sha1:${costTip}`, commit: costTip });
    assert.deepEqual([same.connections, same.commands, same.relayed, same.open], [1, 1, 1, 0]);
    // Handshake and advertisement only: no more than resolveRevision's listing, far from the pack.
    assert.ok(same.bytes < 32 * KIB, `${same.bytes} bytes from the server`);
    assert.ok(Math.abs(same.bytes - listing.bytes) < 2 * KIB, `${same.bytes} vs ${listing.bytes} bytes for resolveRevision`);
    assert.deepEqual(await readdir(workDir), [], 'no temporary repository was made');
  });

  it('an isCurrent that throws is passed on as it is, and the connection is closed', async () => {
    const failed = await cost(() =>
      fetchArtifactIfChanged(relayed(), () => {
        throw new Error('store unreachable');
      }).catch((err: unknown) => err),
    );
    assert.ok(failed.result instanceof Error && !(failed.result instanceof GitSourceError));
    assert.equal(failed.result.message, 'store unreachable');
    assert.deepEqual([failed.connections, failed.open], [1, 0]);
    assert.ok(failed.bytes < 32 * KIB);
  });
});

describe('GitRepository over SSH: known_hosts markers', () => {
  let certSshd: SshGit;
  before(async () => {
    certSshd = await startSshGit(server.root, { hostCertificate: true });
  });
  after(async () => certSshd?.stop());

  const certSpec = (knownHosts: string): GitSourceSpec => ({ ...sshSpec(), url: certSshd.url(REPO), credentials: { identity: certSshd.deployKey, knownHosts } });
  const hostName = () => `[127.0.0.1]:${certSshd.port}`;
  const caLine = () => `@cert-authority ${hostName()} ${certSshd.certAuthority!}`;

  it('the rig serves a real host certificate: OpenSSH checks it against a known_hosts with only the @cert-authority line', async () => {
    const { stdout } = await run('ssh-keyscan', ['-c', '-p', String(certSshd.port), '127.0.0.1']);
    assert.match(stdout, /ssh-ed25519-cert-v01@openssh\.com /);
    const knownHostsPath = join(scratch, 'known_hosts_ca');
    await writeFile(knownHostsPath, `${caLine()}\n`);
    const sshCommand = certSshd.sshCommand().replace(`UserKnownHostsFile=${certSshd.knownHostsPath}`, `UserKnownHostsFile=${knownHostsPath}`);
    const { stdout: listed } = await run('git', ['ls-remote', certSshd.url(REPO), 'refs/heads/main'], { env: { ...process.env, GIT_SSH_COMMAND: sshCommand } });
    assert.match(listed, new RegExp(`^${tip}\trefs/heads/main`));
  });

  it('ssh2 cannot negotiate host certificates (if this fails, @cert-authority can be supported)', () => {
    assert.throws(
      () => new ssh2.Client().connect({ host: '127.0.0.1', port: certSshd.port, algorithms: { serverHostKey: ['ssh-ed25519-cert-v01@openssh.com' as 'ssh-ed25519'] } }),
      /Unsupported algorithm: ssh-ed25519-cert-v01@openssh\.com/,
    );
  });

  it('a known_hosts that trusts the host only through @cert-authority fails before connecting, naming the line and what to do', async () => {
    const knownHosts = `# our CA\n${caLine()}\n`;
    const before = await certSshd.activity();
    const err = await rejectsWith(
      fetchArtifact(certSpec(knownHosts)),
      'Unsupported',
      /GitRepository flux-system\/ssh-app: known_hosts in secret flux-system\/ssh-credentials trusts \[127\.0\.0\.1\]:\d+ only through a host certificate authority \(line 2: @cert-authority \[127\.0\.0\.1\]:\d+ ssh-ed25519 SHA256:\S+\), and SSH host certificates are not supported: add the server's plain host key line to the secret's known_hosts \(ssh-keyscan -p \d+ 127\.0\.0\.1, after checking its fingerprint\)/,
    );
    assert.ok(!err.message.includes(certSshd.certAuthority!.split(' ')[1]!), 'the fingerprint, not the key, is named');
    // Wildcard and hashed patterns match as for plain lines.
    await rejectsWith(resolveRevision(certSpec(`@cert-authority * ${certSshd.certAuthority!}`)), 'Unsupported', /line 1: @cert-authority \* ssh-ed25519/);
    assert.equal((await certSshd.activity()).connections, before.connections, 'no connection was made');
  });

  it('@cert-authority next to the plain host key line: the plain key is checked and the fetch works against a server with a certificate', async () => {
    const knownHosts = `${caLine()}\n${certSshd.knownHosts}\n`;
    assert.equal((await fetchArtifact(certSpec(knownHosts))).commit, tip);
    // A @cert-authority line for other hosts changes nothing either.
    assert.equal((await resolveRevision(certSpec(`@cert-authority *.example.com ${certSshd.certAuthority!}\n${certSshd.knownHosts}`))).commit, tip);
    // With a wrong plain key, the mismatch message says the CA line was not used.
    const other = (await newKey('other-cert-host-key')).pub.split(' ').slice(0, 2).join(' ');
    await rejectsWith(
      resolveRevision(certSpec(`${caLine()}\n${hostName()} ${other}\n`)),
      'AuthenticationFailed',
      /does not match known_hosts in secret flux-system\/ssh-credentials \(and not through its certificate authority, as SSH host certificates are not supported: line 1: @cert-authority .*\): add the server's host key/,
    );
  });

  it('@revoked refuses the host key, also with hashed or wildcard patterns, and only for the hosts it names', async () => {
    const key = certSshd.knownHosts.split(' ').slice(1).join(' ');
    const only = `@revoked ${hostName()} ${key}\n`;
    const before = await certSshd.activity();
    await rejectsWith(
      resolveRevision(certSpec(only)),
      'AuthenticationFailed',
      /known_hosts in secret flux-system\/ssh-credentials has no key for \[127\.0\.0\.1\]:\d+ that is not marked @revoked \(revoked: ssh-ed25519 SHA256:\S+\): refusing to connect; put the server's current host key in the secret's known_hosts \(ssh-keyscan -p \d+ 127\.0\.0\.1/,
    );
    // Listed and revoked (a wildcard revocation), and listed under a hashed name and revoked: refused before connecting.
    await rejectsWith(resolveRevision(certSpec(`${certSshd.knownHosts}\n@revoked * ${key}\n`)), 'AuthenticationFailed', /not marked @revoked/);
    const path = join(scratch, 'known_hosts_revoked');
    await writeFile(path, `${certSshd.knownHosts}\n`);
    await run('ssh-keygen', ['-q', '-H', '-f', path]);
    const hashed = (await readFile(path, 'utf8')).trim();
    await rejectsWith(resolveRevision(certSpec(`${hashed}\n@revoked ${hashed.split(' ')[0]} ${key}\n`)), 'AuthenticationFailed', /not marked @revoked/);
    assert.equal((await certSshd.activity()).connections, before.connections, 'no connection was made');
    // A revocation for another host does not touch this one.
    assert.equal((await resolveRevision(certSpec(`@revoked git.example.com ${key}\n${certSshd.knownHosts}\n`))).commit, tip);
    // A revoked key of another type next to the host's key: the host's key passes.
    const rsa = (await newKey('revoked-rsa', 'rsa')).pub.split(' ').slice(0, 2).join(' ');
    assert.equal((await resolveRevision(certSpec(`${certSshd.knownHosts}\n${hostName()} ${rsa}\n@revoked ${hostName()} ${rsa}\n`))).commit, tip);
  });
});

interface Relay {
  readonly port: number;
  /** TCP connections accepted, and bytes the server sent through. */
  readonly connections: number;
  readonly bytesFromServer: number;
  close(): Promise<void>;
}

/** A TCP relay to 127.0.0.1:`target` that counts connections and the bytes the server sends. */
async function startRelay(target: number): Promise<Relay> {
  const sockets = new Set<Socket>();
  let connections = 0;
  let bytesFromServer = 0;
  const srv = createServer((client) => {
    connections++;
    const upstream = connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => (sockets.delete(s), client.destroy(), upstream.destroy()));
    }
    upstream.on('data', (d: Buffer) => (bytesFromServer += d.length));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const address = srv.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    get connections() {
      return connections;
    },
    get bytesFromServer() {
      return bytesFromServer;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
