import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import git from 'isomorphic-git';
import { fetchArtifact, fetchArtifactIfChanged, resolveRevision, type GitSourceSpec } from '../../shared/sources/git/index.ts';
import { fetchCommit } from '../../shared/sources/git/fetch-commit.ts';
import { openRemote } from '../../shared/sources/git/remote.ts';
import { digestOf } from '../../shared/store/artifacts.ts';
import { git as gitCli, startGitServer, type GitServer } from '../rig/git-server.ts';
import { commitAndPush, inClone, readTarball, rejectsWith, startAuthProxy } from './git-fixtures.ts';

let server: GitServer;
const scratch: string[] = [];
let repos = 0;

before(async () => {
  server = await startGitServer();
});
after(async () => {
  await server?.stop();
  for (const d of scratch) await rm(d, { recursive: true, force: true });
});

/** A fresh repository for one test. */
async function newRepo(): Promise<string> {
  const repo = `repo-${++repos}`;
  await server.createRepo(repo);
  return repo;
}

function spec(repo: string, extra: Partial<GitSourceSpec> = {}): GitSourceSpec {
  return {
    id: `flux-system/${repo}`,
    url: server.url(repo),
    credentials: { username: server.username, password: server.password },
    ...extra,
  };
}

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tide-git-src-test-'));
  scratch.push(d);
  return d;
}

/** Runs `fn` and returns the requests the Git server answered meanwhile. */
async function requestsOf(fn: () => Promise<unknown>) {
  const from = server.requests.length;
  await fn();
  return server.requests.slice(from).map((r) => `${r.method} ${r.service} ${r.status}`);
}

async function filesOf(tarball: Uint8Array): Promise<Record<string, string>> {
  return Object.fromEntries([...(await readTarball(tarball))].map(([name, e]) => [name, e.type === 'symlink' ? `-> ${e.linkname}` : e.content]));
}

describe('GitRepository: revisions as Flux v1 writes them', () => {
  it('branch: <branch>@sha1:<commit>, and the tree of its tip', async () => {
    const repo = await newRepo();
    await server.commit(repo, { 'apps/a.yaml': 'a: 1\n' });
    const sha = await server.commit(repo, { 'apps/b.yaml': 'b: 2\n', 'README.md': 'hi\n' });
    await server.commit(repo, { 'other.yaml': 'x\n' }, { branch: 'feature' });
    const s = spec(repo, { ref: { branch: 'main' } });
    assert.deepEqual(await resolveRevision(s), { revision: `main@sha1:${sha}`, commit: sha });
    const got = await fetchArtifact(s);
    assert.equal(got.revision, `main@sha1:${sha}`);
    assert.equal(got.commit, sha);
    assert.equal(got.files, 3);
    assert.deepEqual(await filesOf(got.tarball), { 'README.md': 'hi\n', 'apps/a.yaml': 'a: 1\n', 'apps/b.yaml': 'b: 2\n' });
  });

  it("no ref: Flux's default, branch master", async () => {
    const repo = await newRepo();
    await server.commit(repo, { 'main.yaml': 'on main\n' });
    const sha = await server.commit(repo, { 'master.yaml': 'on master\n' }, { branch: 'master' });
    const got = await fetchArtifact(spec(repo));
    assert.equal(got.revision, `master@sha1:${sha}`);
    assert.deepEqual(await filesOf(got.tarball), { 'master.yaml': 'on master\n' });
  });

  it('tag: lightweight and annotated both give the commit, not the tag object', async () => {
    const repo = await newRepo();
    const first = await server.commit(repo, { 'v.yaml': 'v: 1\n' }, { tag: 'v1.0.0' });
    const second = await server.commit(repo, { 'v.yaml': 'v: 2\n' });
    const tagObject = await inClone(server, repo, async (work) => {
      await gitCli(['tag', '-a', 'v2.0.0', '-m', 'release 2.0.0'], work);
      await gitCli(['push', '--quiet', 'origin', 'refs/tags/v2.0.0'], work);
      return (await gitCli(['rev-parse', 'v2.0.0'], work)).trim();
    });
    assert.notEqual(tagObject, second, 'the annotated tag is an object of its own');
    await server.commit(repo, { 'v.yaml': 'v: 3\n' }); // main moves on; the tags stay

    const light = spec(repo, { ref: { tag: 'v1.0.0' } });
    assert.equal((await resolveRevision(light)).revision, `v1.0.0@sha1:${first}`);
    const lightArtifact = await fetchArtifact(light);
    assert.equal(lightArtifact.revision, `v1.0.0@sha1:${first}`);
    assert.deepEqual(await filesOf(lightArtifact.tarball), { 'v.yaml': 'v: 1\n' });

    const annotated = spec(repo, { ref: { tag: 'v2.0.0' } });
    assert.deepEqual(await resolveRevision(annotated), { revision: `v2.0.0@sha1:${second}`, commit: second });
    const annotatedArtifact = await fetchArtifact(annotated);
    assert.equal(annotatedArtifact.revision, `v2.0.0@sha1:${second}`);
    assert.equal(annotatedArtifact.commit, second);
    assert.deepEqual(await filesOf(annotatedArtifact.tarball), { 'v.yaml': 'v: 2\n' });
  });

  it('semver: the highest tag in the range, with or without a leading v, prereleases left out', async () => {
    const repo = await newRepo();
    await server.commit(repo, { 'v': '1.0.0' }, { tag: 'v1.0.0' });
    const onePointTwo = await server.commit(repo, { 'v': '1.2.0' }, { tag: '1.2.0' });
    await server.commit(repo, { 'v': '1.3.0-rc.1' }, { tag: 'v1.3.0-rc.1' });
    await server.commit(repo, { 'v': '1.1.0' }, { tag: 'v1.1.0' });
    const two = await server.commit(repo, { 'v': '2.0.0' }, { tag: 'v2.0.0' });
    await server.commit(repo, { 'v': 'junk' }, { tag: 'latest' });

    assert.equal((await resolveRevision(spec(repo, { ref: { semver: '^1.0.0' } }))).revision, `1.2.0@sha1:${onePointTwo}`);
    assert.equal((await resolveRevision(spec(repo, { ref: { semver: '>=1.0.0' } }))).revision, `v2.0.0@sha1:${two}`);
    const got = await fetchArtifact(spec(repo, { ref: { semver: '1.x' } }));
    assert.equal(got.revision, `1.2.0@sha1:${onePointTwo}`);
    assert.deepEqual(await filesOf(got.tarball), { v: '1.2.0' });

    await rejectsWith(resolveRevision(spec(repo, { ref: { semver: '>=3.0.0' } })), 'RefNotFound', /semver range ">=3\.0\.0"/);
    await rejectsWith(resolveRevision(spec(repo, { ref: { semver: 'not a range!' } })), 'RefNotFound', /not a valid semver range/);
  });

  it('name: the full reference name in the revision; an annotated tag by name gives its commit', async () => {
    const repo = await newRepo();
    const feature = await server.commit(repo, { 'f.yaml': 'feature\n' }, { branch: 'feature' });
    const main = await server.commit(repo, { 'm.yaml': 'main\n' });
    await inClone(server, repo, async (work) => {
      await gitCli(['tag', '-a', 'release', '-m', 'release', main], work);
      await gitCli(['push', '--quiet', 'origin', 'refs/tags/release'], work);
    });
    const byName = spec(repo, { ref: { name: 'refs/heads/feature' } });
    assert.equal((await resolveRevision(byName)).revision, `refs/heads/feature@sha1:${feature}`);
    const got = await fetchArtifact(byName);
    assert.equal(got.revision, `refs/heads/feature@sha1:${feature}`);
    assert.deepEqual(await filesOf(got.tarball), { 'f.yaml': 'feature\n' });
    assert.equal((await fetchArtifact(spec(repo, { ref: { name: 'refs/tags/release' } }))).revision, `refs/tags/release@sha1:${main}`);
    await rejectsWith(resolveRevision(spec(repo, { ref: { name: 'feature' } })), 'RefNotFound', /not a full reference name/);
  });

  it('commit: sha1:<commit> alone, <branch>@sha1:<commit> with a branch, even when it is not the tip', async () => {
    const repo = await newRepo();
    const old = await server.commit(repo, { 'c.yaml': 'old\n' });
    await server.commit(repo, { 'c.yaml': 'new\n' });

    const alone = spec(repo, { ref: { commit: old } });
    assert.deepEqual(await resolveRevision(alone), { revision: `sha1:${old}`, commit: old });
    const got = await fetchArtifact(alone);
    assert.equal(got.revision, `sha1:${old}`);
    assert.deepEqual(await filesOf(got.tarball), { 'c.yaml': 'old\n' });

    const onBranch = spec(repo, { ref: { branch: 'main', commit: old } });
    assert.equal((await resolveRevision(onBranch)).revision, `main@sha1:${old}`);
    assert.equal((await fetchArtifact(onBranch)).revision, `main@sha1:${old}`);

    const missing = 'deadbeef'.repeat(5);
    await rejectsWith(fetchArtifact(spec(repo, { ref: { commit: missing } })), 'RefNotFound', new RegExp(`commit ${missing} not found`));
    await rejectsWith(fetchArtifact(spec(repo, { ref: { branch: 'main', commit: missing } })), 'RefNotFound', /on branch "main"/);
    await rejectsWith(resolveRevision(spec(repo, { ref: { commit: old.slice(0, 7) } })), 'RefNotFound', /full 40-character SHA-1/);
  });

  it('precedence as Flux: commit > name > semver > tag > branch', async () => {
    const repo = await newRepo();
    const c1 = await server.commit(repo, { f: '1' }, { tag: 'v1.0.0' });
    const c2 = await server.commit(repo, { f: '2' }, { tag: 'v2.0.0' });
    const c3 = await server.commit(repo, { f: '3' }, { branch: 'other' });
    const c4 = await server.commit(repo, { f: '4' });
    const all = { branch: 'main', tag: 'v1.0.0', semver: '^2.0.0', name: 'refs/heads/other', commit: c1 };
    const rev = async (ref: object) => (await resolveRevision(spec(repo, { ref }))).revision;
    assert.equal(await rev(all), `main@sha1:${c1}`);
    assert.equal(await rev({ ...all, commit: undefined }), `refs/heads/other@sha1:${c3}`);
    assert.equal(await rev({ ...all, commit: undefined, name: undefined }), `v2.0.0@sha1:${c2}`);
    assert.equal(await rev({ branch: 'main', tag: 'v1.0.0' }), `v1.0.0@sha1:${c1}`);
    assert.equal(await rev({ branch: 'main' }), `main@sha1:${c4}`);
  });
});

describe('GitRepository: cost', () => {
  it('resolveRevision is one GET of info/refs and no upload-pack POST', async () => {
    const repo = await newRepo();
    await server.commit(repo, { 'a.yaml': 'a\n' }, { tag: 'v1.0.0' });
    for (const ref of [{ branch: 'main' }, { tag: 'v1.0.0' }, { semver: '*' }, { name: 'refs/heads/main' }]) {
      const made = await requestsOf(() => resolveRevision(spec(repo, { ref })));
      assert.deepEqual(made, ['GET git-upload-pack 200'], JSON.stringify(ref));
    }
  });

  it('fetchArtifact is a ref listing and one shallow fetch: no history is downloaded', async () => {
    const repo = await newRepo();
    const old = await server.commit(repo, { 'big.bin': randomBytes(64 * 1024).toString('base64') });
    const tip = await server.commit(repo, { 'big.bin': null, 'a.yaml': 'a\n' });
    const made = await requestsOf(() => fetchArtifact(spec(repo, { ref: { branch: 'main' } })));
    assert.deepEqual(made, ['GET git-upload-pack 200', 'GET git-upload-pack 200', 'POST git-upload-pack 200']);

    // What that fetch leaves in the repository: the tip, its tree, and nothing older.
    const gitdir = await tmp();
    const commit = await fetchCommit(openRemote(spec(repo)), { kind: 'ref', fullref: 'refs/heads/main', label: 'main', commit: tip, describe: 'branch "main"' }, gitdir, {});
    assert.equal(commit, tip);
    assert.equal((await git.readCommit({ fs, gitdir, oid: tip })).oid, tip);
    await assert.rejects(git.readCommit({ fs, gitdir, oid: old }), /NotFoundError|Could not find/);
    assert.equal(fs.readFileSync(join(gitdir, 'shallow'), 'utf8').trim(), tip);
  });

  it('fetchArtifactIfChanged over HTTP: an unchanged revision is one GET, as resolveRevision; a new one is fetched as fetchArtifact does', async () => {
    const repo = await newRepo();
    const tip = await server.commit(repo, { 'a.yaml': 'a\n' });
    const { revision } = await resolveRevision(spec(repo, { ref: { branch: 'main' } }));
    const results: Awaited<ReturnType<typeof fetchArtifactIfChanged>>[] = [];
    const same = await requestsOf(async () => results.push(await fetchArtifactIfChanged(spec(repo, { ref: { branch: 'main' } }), (r) => r === revision)));
    assert.deepEqual(same, ['GET git-upload-pack 200']);
    assert.deepEqual(results[0], { unchanged: true, revision: `main@sha1:${tip}`, commit: tip });
    const changed = await requestsOf(async () => results.push(await fetchArtifactIfChanged(spec(repo, { ref: { branch: 'main' } }), async () => false)));
    assert.deepEqual(changed, ['GET git-upload-pack 200', 'GET git-upload-pack 200', 'POST git-upload-pack 200']);
    const fetched = results[1];
    assert.ok(fetched && !('unchanged' in fetched));
    assert.deepEqual(await filesOf(fetched.tarball), { 'a.yaml': 'a\n' });
  });

  it('the temporary repository is removed after a fetch, also after a failed one', async () => {
    const repo = await newRepo();
    await server.commit(repo, { 'a.yaml': 'a\n' });
    const workDir = await tmp();
    await fetchArtifact(spec(repo, { ref: { branch: 'main' } }), { workDir });
    assert.deepEqual(await readdir(workDir), []);
    await rejectsWith(fetchArtifact(spec(repo, { ref: { commit: 'f'.repeat(40) } }), { workDir }), 'RefNotFound');
    assert.deepEqual(await readdir(workDir), []);
    await rejectsWith(fetchArtifact(spec(repo, { ref: { branch: 'main' }, maxArtifactBytes: 10 }), { workDir }), 'ArtifactTooLarge');
    assert.deepEqual(await readdir(workDir), []);
  });
});

describe('GitRepository: the artifact', () => {
  it('is deterministic: sorted, mtime 0, uid/gid 0, 0644 or 0755; same commit same digest, new commit new digest', async () => {
    const repo = await newRepo();
    await server.commit(repo, { 'z.yaml': 'z\n', 'a/b/c.yaml': 'c\n', 'a/a.yaml': 'a\n', 'M.yaml': 'm\n' });
    await inClone(server, repo, async (work) => {
      await writeFile(join(work, 'run.sh'), '#!/bin/sh\necho hi\n');
      await chmod(join(work, 'run.sh'), 0o755);
      await commitAndPush(work, 'executable');
    });
    const s = spec(repo, { ref: { branch: 'main' } });
    const one = await fetchArtifact(s);
    const two = await fetchArtifact(s);
    assert.equal(digestOf(one.tarball), digestOf(two.tarball));
    assert.deepEqual(one.tarball, two.tarball);

    const entries = await readTarball(one.tarball);
    assert.deepEqual([...entries.keys()], ['M.yaml', 'a/a.yaml', 'a/b/c.yaml', 'run.sh', 'z.yaml']);
    for (const [name, e] of entries) {
      assert.equal(e.type, 'file', name);
      assert.equal(e.mtime, 0, name);
      assert.deepEqual([e.uid, e.gid, e.uname, e.gname], [0, 0, '', ''], name);
      assert.equal(e.mode, name === 'run.sh' ? 0o755 : 0o644, name);
    }
    assert.ok(![...entries.keys()].some((n) => n === '.git' || n.startsWith('.git/')));

    await server.commit(repo, { 'z.yaml': 'z2\n' });
    const three = await fetchArtifact(s);
    assert.notEqual(digestOf(three.tarball), digestOf(one.tarball));
    assert.notEqual(three.revision, one.revision);
  });

  it("leaves out Flux's default exclusions and the VCS files when no ignore rules are given", async () => {
    const repo = await newRepo();
    await server.commit(repo, {
      'app.yaml': 'app\n', '.gitignore': 'tmp/\n', '.gitattributes': '* text\n',
      'logo.png': 'png', 'docs/shot.jpg': 'jpg', 'bundle.tar.gz': 'tgz', 'release.zip': 'zip',
      '.github/workflows/ci.yml': 'ci', '.circleci/config.yml': 'ci', '.travis.yml': 'ci', '.gitlab-ci.yml': 'ci',
      'cloudbuild.yaml': 'ci', 'deep/dir/.sops.yaml': 'sops', '.goreleaser.yml': 'gr', 'x/.flux.yaml': 'flux',
      'nested/.github/x.yaml': '.github/ matches at any depth',
    });
    const got = await fetchArtifact(spec(repo, { ref: { branch: 'main' } }));
    assert.deepEqual(Object.keys(await filesOf(got.tarball)), ['app.yaml']);
  });

  it('honours .sourceignore files (scoped to their directory) and spec.ignore; they replace the defaults as in Flux', async () => {
    const repo = await newRepo();
    await server.commit(repo, {
      '.sourceignore': '# drafts anywhere\n*.draft.yaml\n/secret/\n',
      'apps/.sourceignore': 'local.yaml\n!keep.draft.yaml\n',
      'apps/app.yaml': 'app\n', 'apps/local.yaml': 'local\n', 'apps/x.draft.yaml': 'draft\n', 'apps/keep.draft.yaml': 'keep\n',
      'local.yaml': 'root local is not in the apps/ scope\n', 'secret/key.yaml': 'k\n', 'infra/secret/ok.yaml': 'anchored to the root only\n',
      'infra/test/t.yaml': 't\n', 'logo.png': 'png', '.gitignore': 'x\n', '.github/ci.yml': 'ci',
    });
    const got = await fetchArtifact(spec(repo, { ref: { branch: 'main' }, ignore: 'infra/test/\n' }));
    assert.deepEqual(Object.keys(await filesOf(got.tarball)), [
      '.github/ci.yml', // the defaults give way to custom rules, as in Flux's source-controller
      '.sourceignore',
      'apps/.sourceignore',
      'apps/app.yaml',
      'apps/keep.draft.yaml', // re-included by the later, deeper .sourceignore
      'infra/secret/ok.yaml',
      'local.yaml',
      'logo.png',
    ]);
    // spec.ignore comes last, so it can re-include what a .sourceignore left out.
    const again = await fetchArtifact(spec(repo, { ref: { branch: 'main' }, ignore: '!apps/local.yaml\n*.png\n' }));
    const names = Object.keys(await filesOf(again.tarball));
    assert.ok(names.includes('apps/local.yaml'));
    assert.ok(!names.includes('logo.png'));
    assert.ok(!names.includes('.gitignore'), 'the VCS files are always left out');
  });

  it('keeps a symlink inside the tree as a symlink', async () => {
    const repo = await newRepo();
    await server.commit(repo, { 'base/app.yaml': 'app\n' });
    await inClone(server, repo, async (work) => {
      await mkdir(join(work, 'overlays/prod'), { recursive: true });
      await symlink('../../base/app.yaml', join(work, 'overlays/prod/app.yaml'));
      await symlink('base', join(work, 'current'));
      await commitAndPush(work, 'symlinks');
    });
    const entries = await readTarball((await fetchArtifact(spec(repo, { ref: { branch: 'main' } }))).tarball);
    assert.deepEqual(entries.get('overlays/prod/app.yaml')?.type, 'symlink');
    assert.deepEqual(entries.get('overlays/prod/app.yaml')?.linkname, '../../base/app.yaml');
    assert.deepEqual(entries.get('current')?.linkname, 'base');
    assert.equal(entries.get('base/app.yaml')?.content, 'app\n');
  });

  it('refuses a symlink that escapes the tree (relative or absolute), unless it is ignored', async () => {
    const repo = await newRepo();
    await server.commit(repo, { 'ok.yaml': 'ok\n' });
    await inClone(server, repo, async (work) => {
      await mkdir(join(work, 'apps'));
      await symlink('../../etc/passwd', join(work, 'apps/leak'));
      await commitAndPush(work, 'relative escape');
    });
    const s = spec(repo, { ref: { branch: 'main' } });
    const err = await rejectsWith(fetchArtifact(s), 'UnsafePath', /symlink "apps\/leak" -> "\.\.\/\.\.\/etc\/passwd" points outside the repository/);
    assert.match(err.message, /^GitRepository flux-system\/repo-\d+: /);
    // Ignored, it is not packed, so it is no danger.
    const got = await fetchArtifact({ ...s, ignore: 'apps/leak\n' });
    assert.deepEqual(Object.keys(await filesOf(got.tarball)), ['ok.yaml']);

    await inClone(server, repo, async (work) => {
      await rm(join(work, 'apps/leak'));
      await symlink('/etc/passwd', join(work, 'abs'));
      await commitAndPush(work, 'absolute');
    });
    await rejectsWith(fetchArtifact(s), 'UnsafePath', /symlink "abs" -> "\/etc\/passwd" is absolute/);
  });

  it('refuses an artifact over the size limit, saying the size and the limit and what to do', async () => {
    const repo = await newRepo();
    await server.commit(repo, { 'noise.txt': randomBytes(32 * 1024).toString('base64'), 'small.yaml': 's\n' });
    const s = spec(repo, { ref: { branch: 'main' }, maxArtifactBytes: 8 * 1024 });
    const err = await rejectsWith(fetchArtifact(s), 'ArtifactTooLarge', /over the limit of 8\.0 KiB \(8192 bytes\): add ignore rules/);
    const size = Number(/is [\d.]+ KiB \((\d+) bytes\)/.exec(err.message)?.[1]);
    assert.ok(size > 8192, err.message);
    const fits = await fetchArtifact({ ...s, ignore: 'noise.txt\n' });
    assert.deepEqual(Object.keys(await filesOf(fits.tarball)), ['small.yaml']);
  });
});

describe('GitRepository: auth and failures', () => {
  it('a wrong password is AuthenticationFailed naming the URL, never the password', async () => {
    const repo = await newRepo();
    await server.commit(repo, { 'a.yaml': 'a\n' });
    const password = 'wrong-password-0123456789';
    const s = spec(repo, { ref: { branch: 'main' }, credentials: { username: server.username, password }, secret: 'flux-system/git-auth' });
    for (const call of [resolveRevision, fetchArtifact]) {
      const err = await rejectsWith(call(s), 'AuthenticationFailed');
      assert.equal(err.message, `GitRepository flux-system/${repo}: auth failed for ${server.url(repo)}: check the username and password in secret flux-system/git-auth`);
      assert.ok(!err.message.includes(password));
      assert.ok(!String(err.stack).includes(password));
    }
    // Credentials in the URL are used, and kept out of messages too.
    const inUrl = { ...s, url: server.url(repo).replace('http://', `http://${server.username}:${password}@`), credentials: undefined };
    const err = await rejectsWith(resolveRevision(inUrl), 'AuthenticationFailed');
    assert.ok(!err.message.includes(password));
    assert.equal((await resolveRevision({ ...inUrl, url: server.authUrl(repo) })).revision.startsWith('main@sha1:'), true);
    // None at all: say so.
    await rejectsWith(resolveRevision({ ...s, credentials: undefined }), 'AuthenticationFailed', /none were given: set spec\.secretRef/);
  });

  it('a password alone is sent with username git; a bearer token goes in an Authorization: Bearer header', async () => {
    const repo = await newRepo();
    const sha = await server.commit(repo, { 'a.yaml': 'a\n' });

    const pat = 'ghp_token-as-password';
    const basic = await startAuthProxy(server, `Basic ${Buffer.from(`git:${pat}`).toString('base64')}`);
    try {
      const got = await resolveRevision({ id: `flux-system/${repo}`, url: basic.url(repo), ref: { branch: 'main' }, credentials: { password: pat } });
      assert.equal(got.commit, sha);
      assert.equal(basic.seen.length, 1, 'sent up front: no 401 round trip');
    } finally {
      await basic.stop();
    }

    const token = 'bearer-token-abcdef123456';
    const bearer = await startAuthProxy(server, `Bearer ${token}`);
    try {
      const s: GitSourceSpec = { id: `flux-system/${repo}`, url: bearer.url(repo), ref: { branch: 'main' }, credentials: { bearerToken: token } };
      assert.equal((await resolveRevision(s)).commit, sha);
      const fetched = await fetchArtifact(s);
      assert.deepEqual(await filesOf(fetched.tarball), { 'a.yaml': 'a\n' });
      assert.ok(bearer.seen.length >= 3 && bearer.seen.every((h) => h === `Bearer ${token}`), `${bearer.seen.length} requests`);
      const wrong = 'wrong-token-abcdef123456';
      const err = await rejectsWith(resolveRevision({ ...s, credentials: { bearerToken: wrong } }), 'AuthenticationFailed', /check the bearer token in the secret named by spec\.secretRef/);
      assert.ok(!err.message.includes(wrong));
    } finally {
      await bearer.stop();
    }
  });

  it('a missing branch or tag is RefNotFound naming it', async () => {
    const repo = await newRepo();
    await server.commit(repo, { 'a.yaml': 'a\n' });
    for (const call of [resolveRevision, fetchArtifact]) {
      await rejectsWith(call(spec(repo, { ref: { branch: 'nope' } })), 'RefNotFound', new RegExp(`^GitRepository flux-system/${repo}: branch "nope" not found in ${server.url(repo).replace(/\./g, '\\.')}: check spec\\.ref$`));
    }
    await rejectsWith(resolveRevision(spec(repo, { ref: { tag: 'v9.9.9' } })), 'RefNotFound', /tag "v9\.9\.9" not found/);
    await rejectsWith(resolveRevision(spec(repo)), 'RefNotFound', /branch "master" not found/);
  });

  it('a repository that does not exist, or a server that does not answer, is FetchFailed', async () => {
    await rejectsWith(resolveRevision(spec('no-such-repo')), 'FetchFailed', /no-such-repo\.git not found \(HTTP 404\): check spec\.url/);
    await rejectsWith(resolveRevision({ id: 'flux-system/down', url: 'http://127.0.0.1:1/x.git' }), 'FetchFailed', /fetching from http:\/\/127\.0\.0\.1:1\/x\.git failed: .*ECONNREFUSED/);
  });

  it('an ssh URL without a key fails before connecting; other schemes are Unsupported', async () => {
    await rejectsWith(resolveRevision({ id: 'flux-system/ssh', url: 'ssh://git@github.com/org/repo.git' }), 'AuthenticationFailed', /no private key was given/);
    await rejectsWith(fetchArtifact({ id: 'flux-system/scp', url: 'git@github.com:org/repo.git' }), 'AuthenticationFailed', /no private key was given/);
    await rejectsWith(resolveRevision({ id: 'flux-system/file', url: 'file:///srv/repo.git' }), 'Unsupported', /file:\/\/ URLs are not supported/);
  });
});
