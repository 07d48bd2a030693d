import assert from 'node:assert/strict';
import fs from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import git from 'isomorphic-git';
import { checkSymlinks } from '../../shared/sources/git/check-symlinks.ts';
import { GitSourceError } from '../../shared/sources/git/errors.ts';
import { ignoreMatcher } from '../../shared/sources/git/ignore-rules.ts';
import { fetchArtifact } from '../../shared/sources/git/index.ts';
import { startGitServer, type GitServer } from '../rig/git-server.ts';

const check = (links: Record<string, string>, path: string) => () => checkSymlinks('GitRepository flux-system/x', new Map(Object.entries(links)), [path]);

describe('symlink safety: resolved physically, as the kernel would after unpacking', () => {
  it('accepts links that stay inside, however they wander', () => {
    const links = { 'a/b/up': '../..', 'a/self': '.', 'a/c': 'b/up/a/self', 'top': 'a/b/../../a' };
    for (const path of Object.keys(links)) assert.doesNotThrow(check(links, path), path);
  });

  it('refuses `..` above the root, absolute targets, and escapes through a symlinked directory', () => {
    assert.throws(check({ leak: '../etc/passwd' }, 'leak'), /symlink "leak" -> "\.\.\/etc\/passwd" points outside the repository/);
    assert.throws(check({ 'a/leak': '/etc/passwd' }, 'a/leak'), /is absolute/);
    // Lexically `sub/up/..` is `sub`; physically `sub/up` is the root, and `..` of the root is outside.
    const links = { 'sub/up': '..', sneaky: 'sub/up/..' };
    assert.doesNotThrow(check(links, 'sub/up'));
    assert.throws(check(links, 'sneaky'), (err: unknown) => err instanceof GitSourceError && err.reason === 'UnsafePath' && /"sneaky"/.test(err.message));
    // Through a link that itself points at an absolute path.
    assert.throws(check({ etc: '/etc', 'x': 'etc/passwd' }, 'x'), /is absolute/);
    assert.throws(check({ a: 'b', b: 'a' }, 'a'), /symlink loop/);
  });
});

describe('ignore rules, as Flux source-controller applies them', () => {
  it('the last matching pattern decides, across files, each scoped to its directory', () => {
    const ignored = ignoreMatcher([
      { dir: '', text: '*.yaml\n' },
      { dir: 'apps/', text: '!*.yaml\n/only-here.txt\n' },
      { dir: '', text: 'apps/drop.yaml\n' },
    ]);
    assert.equal(ignored('root.yaml'), true);
    assert.equal(ignored('apps/app.yaml'), false);
    assert.equal(ignored('apps/drop.yaml'), true);
    assert.equal(ignored('apps/only-here.txt'), true);
    assert.equal(ignored('only-here.txt'), false);
    assert.equal(ignored('apps/sub/only-here.txt'), false, 'a leading slash anchors to the file\'s directory');
    assert.equal(ignored('logo.png'), false, 'custom patterns replace the defaults');
    assert.equal(ignored('.gitmodules'), true, 'the VCS patterns stay');
  });

  it('comments and blank lines are not patterns: such files leave the defaults in place', () => {
    const ignored = ignoreMatcher([{ dir: '', text: '# nothing here\n\n   \n' }]);
    assert.equal(ignored('logo.png'), true);
    assert.equal(ignored('a/b/.sops.yaml'), true);
    assert.equal(ignored('app.yaml'), false);
  });
});

describe('unsafe tree entries', () => {
  let server: GitServer;
  before(async () => {
    server = await startGitServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('a tree entry named `..` is refused with UnsafePath naming its path', async () => {
    // Git itself will not commit such a tree, so write the objects straight into the bare repository.
    await server.createRepo('evil');
    const gitdir = join(server.root, 'evil.git');
    const blob = await git.writeBlob({ fs, gitdir, blob: new TextEncoder().encode('root:x:0:0\n') });
    const inner = await git.writeTree({ fs, gitdir, tree: [{ mode: '100644', path: 'passwd', oid: blob, type: 'blob' }] });
    const climb = await git.writeTree({ fs, gitdir, tree: [{ mode: '040000', path: '..', oid: inner, type: 'tree' }] });
    const tree = await git.writeTree({ fs, gitdir, tree: [{ mode: '040000', path: 'apps', oid: climb, type: 'tree' }] });
    const who = { name: 'Mallory', email: 'm@example.invalid', timestamp: 0, timezoneOffset: 0 };
    const commit = await git.writeCommit({ fs, gitdir, commit: { message: 'evil\n', tree, parent: [], author: who, committer: who } });
    await git.writeRef({ fs, gitdir, ref: 'refs/heads/main', value: commit });

    await assert.rejects(
      fetchArtifact({ id: 'flux-system/evil', url: server.url('evil'), ref: { branch: 'main' }, credentials: { username: server.username, password: server.password } }),
      (err: unknown) => {
        assert.ok(err instanceof GitSourceError, String(err));
        assert.equal(err.reason, 'UnsafePath');
        assert.match(err.message, /^GitRepository flux-system\/evil: the tree of commit [0-9a-f]{40} has an unsafe path "apps\/\.\.": remove it/);
        return true;
      },
    );
  });
});
