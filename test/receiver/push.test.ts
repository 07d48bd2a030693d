import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePush, PayloadError, refParts } from '../../shared/receiver/index.ts';
import { githubRepository, gitlabProject } from './payloads.ts';

const json = (o: unknown) => Buffer.from(JSON.stringify(o));

// Trimmed real payloads: GitHub's documented push, GitLab's documented push and tag push,
// Bitbucket Server's repo:refs_changed, Bitbucket Cloud's repo:push.
const githubUrls = [
  'https://github.com/Codertocat/Hello-World.git',
  'git@github.com:Codertocat/Hello-World.git',
  'https://github.com/Codertocat/Hello-World',
  'git://github.com/Codertocat/Hello-World.git',
];
const githubTagPush = {
  ref: 'refs/tags/v1.2.0',
  before: '0000000000000000000000000000000000000000',
  after: 'c5b97d5ae6c19d5c5df71a34c7fbeeda2479ccbc',
  created: true,
  deleted: false,
  forced: false,
  base_ref: 'refs/heads/main',
  commits: [],
  head_commit: { id: 'c5b97d5ae6c19d5c5df71a34c7fbeeda2479ccbc', message: 'Release 1.2.0' },
  repository: githubRepository,
  pusher: { name: 'Codertocat' },
};
const githubBranchDelete = {
  ref: 'refs/heads/feature/old',
  before: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
  after: '0000000000000000000000000000000000000000',
  created: false,
  deleted: true,
  forced: false,
  base_ref: null,
  commits: [],
  head_commit: null,
  repository: githubRepository,
};

const gitlabRepository = {
  name: 'Diaspora',
  url: 'git@example.com:mike/diaspora.git',
  homepage: 'http://example.com/mike/diaspora',
  git_http_url: 'http://example.com/mike/diaspora.git',
  git_ssh_url: 'git@example.com:mike/diaspora.git',
};
const gitlabUrls = ['http://example.com/mike/diaspora.git', 'git@example.com:mike/diaspora.git', 'http://example.com/mike/diaspora'];
// An annotated tag: `after` is the tag object, `checkout_sha` the commit it points at.
const gitlabTagPush = {
  object_kind: 'tag_push',
  event_name: 'tag_push',
  before: '0000000000000000000000000000000000000000',
  after: '82b3d5ae55f7080f1e6022629cdb57bfae7cccc7',
  ref: 'refs/tags/v1.0.0',
  ref_protected: true,
  checkout_sha: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
  user_username: 'jsmith',
  project_id: 1,
  project: gitlabProject,
  repository: gitlabRepository,
  commits: [],
  total_commits_count: 0,
};
const gitlabBranchDelete = {
  object_kind: 'push',
  event_name: 'push',
  before: '95790bf891e76fee5e1747ab589903a6a1f80f22',
  after: '0000000000000000000000000000000000000000',
  ref: 'refs/heads/feature/old',
  checkout_sha: null,
  project: gitlabProject,
  repository: gitlabRepository,
  commits: [],
  total_commits_count: 0,
};

const bitbucketRepository = {
  slug: 'repository',
  id: 84,
  name: 'repository',
  scmId: 'git',
  state: 'AVAILABLE',
  project: { key: 'PROJ', id: 84, name: 'project', public: false, type: 'NORMAL' },
  links: {
    clone: [
      { href: 'ssh://git@bitbucket.example.com:7999/proj/repository.git', name: 'ssh' },
      { href: 'https://bitbucket.example.com/scm/proj/repository.git', name: 'http' },
    ],
    self: [{ href: 'https://bitbucket.example.com/projects/PROJ/repos/repository/browse' }],
  },
};
const bitbucketUrls = [
  'ssh://git@bitbucket.example.com:7999/proj/repository.git',
  'https://bitbucket.example.com/scm/proj/repository.git',
  'https://bitbucket.example.com/projects/PROJ/repos/repository/browse',
];
const refsChanged = (...changes: unknown[]) => ({
  eventKey: 'repo:refs_changed',
  date: '2017-09-19T09:45:32+1000',
  actor: { name: 'admin', id: 1, slug: 'admin', type: 'NORMAL' },
  repository: bitbucketRepository,
  changes,
});
const tagChange = { ref: { id: 'refs/tags/v2.0.0', displayId: 'v2.0.0', type: 'TAG' }, refId: 'refs/tags/v2.0.0', fromHash: '0000000000000000000000000000000000000000', toHash: 'a00945762949b7787df4b3a8e7d9d5a3f9a2c5e1', type: 'ADD' };
const branchChange = { ref: { id: 'refs/heads/master', displayId: 'master', type: 'BRANCH' }, refId: 'refs/heads/master', fromHash: 'ecddabb624f6f5ba43816f5926e580a5f680a932', toHash: '178864a7d521b6f5e720b386b2c2b0ef8563e0dc', type: 'UPDATE' };
const deleteChange = { ref: { id: 'refs/heads/old', displayId: 'old', type: 'BRANCH' }, refId: 'refs/heads/old', fromHash: 'ecddabb624f6f5ba43816f5926e580a5f680a932', toHash: '0000000000000000000000000000000000000000', type: 'DELETE' };

const bitbucketCloudPush = {
  push: {
    changes: [
      {
        new: { type: 'branch', name: 'main', target: { type: 'commit', hash: '709d658dc5b6d6afcd46049c2f332ee3f515a67d', message: 'Fix typo\n' } },
        old: { type: 'branch', name: 'main', target: { type: 'commit', hash: '1e65c05c1d5171631d92438a13901ca7dae9618c' } },
        created: false,
        forced: false,
        closed: false,
      },
    ],
  },
  actor: { display_name: 'Emma', type: 'user' },
  repository: {
    type: 'repository',
    full_name: 'team_name/repo_name',
    name: 'repo_name',
    links: { html: { href: 'https://bitbucket.org/team_name/repo_name' }, self: { href: 'https://api.bitbucket.org/2.0/repositories/team_name/repo_name' } },
    scm: 'git',
    is_private: true,
  },
};

describe('parsePush: github', () => {
  it('reads a tag push', () => {
    assert.deepEqual(parsePush('github', { 'X-GitHub-Event': 'push' }, json(githubTagPush)), {
      ref: 'refs/tags/v1.2.0',
      tag: 'v1.2.0',
      commit: 'c5b97d5ae6c19d5c5df71a34c7fbeeda2479ccbc',
      repositoryUrls: githubUrls,
    });
  });

  it('marks a deleted branch, with no commit', () => {
    assert.deepEqual(parsePush('github', { 'x-github-event': 'push' }, json(githubBranchDelete)), {
      ref: 'refs/heads/feature/old',
      branch: 'feature/old',
      deleted: true,
      repositoryUrls: githubUrls,
    });
  });

  it('reads nothing from an event that is not a push', () => {
    assert.equal(parsePush('github', { 'X-GitHub-Event': 'create' }, json({ ref: 'v1.2.0', ref_type: 'tag', repository: githubRepository })), undefined);
    assert.equal(parsePush('github', {}, json(githubTagPush)), undefined);
  });

  it('reads a form-encoded body', () => {
    const body = Buffer.from(new URLSearchParams({ payload: JSON.stringify(githubTagPush) }).toString());
    assert.equal(parsePush('github', { 'Content-Type': 'application/x-www-form-urlencoded', 'X-GitHub-Event': 'push' }, body)?.tag, 'v1.2.0');
  });

  it('throws PayloadError on a body that is not a JSON object', () => {
    for (const body of ['{"ref":', '', 'null', '"refs/heads/main"', '[]']) {
      assert.throws(() => parsePush('github', { 'X-GitHub-Event': 'push' }, Buffer.from(body)), PayloadError, JSON.stringify(body));
    }
    assert.throws(() => parsePush('github', { 'content-type': 'application/x-www-form-urlencoded', 'X-GitHub-Event': 'push' }, Buffer.from('other=1')), PayloadError);
  });
});

describe('parsePush: gitlab', () => {
  it('takes the commit of an annotated tag from checkout_sha, not the tag object', () => {
    assert.deepEqual(parsePush('gitlab', { 'X-Gitlab-Event': 'Tag Push Hook' }, json(gitlabTagPush)), {
      ref: 'refs/tags/v1.0.0',
      tag: 'v1.0.0',
      commit: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
      repositoryUrls: gitlabUrls,
    });
  });

  it('marks a deleted branch, with no commit', () => {
    assert.deepEqual(parsePush('gitlab', { 'X-Gitlab-Event': 'Push Hook' }, json(gitlabBranchDelete)), {
      ref: 'refs/heads/feature/old',
      branch: 'feature/old',
      deleted: true,
      repositoryUrls: gitlabUrls,
    });
  });

  it('reads a system hook push the same way, and nothing from a merge request', () => {
    assert.equal(parsePush('gitlab', { 'X-Gitlab-Event': 'System Hook' }, json(gitlabTagPush))?.tag, 'v1.0.0');
    assert.equal(parsePush('gitlab', { 'X-Gitlab-Event': 'Merge Request Hook' }, json({ object_kind: 'merge_request', project: gitlabProject, object_attributes: { target_branch: 'master' } })), undefined);
  });
});

describe('parsePush: bitbucket', () => {
  it('reads a tag created on Bitbucket Server', () => {
    assert.deepEqual(parsePush('bitbucket', { 'X-Event-Key': 'repo:refs_changed' }, json(refsChanged(tagChange))), {
      ref: 'refs/tags/v2.0.0',
      tag: 'v2.0.0',
      commit: 'a00945762949b7787df4b3a8e7d9d5a3f9a2c5e1',
      repositoryUrls: bitbucketUrls,
    });
  });

  it('marks a deleted branch', () => {
    assert.deepEqual(parsePush('bitbucket', { 'X-Event-Key': 'repo:refs_changed' }, json(refsChanged(deleteChange))), {
      ref: 'refs/heads/old',
      branch: 'old',
      deleted: true,
      repositoryUrls: bitbucketUrls,
    });
  });

  it('lists every ref of a push that changed several, naming none as the ref', () => {
    assert.deepEqual(parsePush('bitbucket', { 'X-Event-Key': 'repo:refs_changed' }, json(refsChanged(branchChange, tagChange))), {
      repositoryUrls: bitbucketUrls,
      refs: ['refs/heads/master', 'refs/tags/v2.0.0'],
    });
  });

  it('reads a Bitbucket Cloud repo:push', () => {
    assert.deepEqual(parsePush('bitbucket', { 'X-Event-Key': 'repo:push' }, json(bitbucketCloudPush)), {
      ref: 'refs/heads/main',
      branch: 'main',
      commit: '709d658dc5b6d6afcd46049c2f332ee3f515a67d',
      repositoryUrls: ['https://bitbucket.org/team_name/repo_name'],
    });
  });

  it('reads nothing from a pull request event or a ping', () => {
    assert.equal(parsePush('bitbucket', { 'X-Event-Key': 'pr:opened' }, json({ eventKey: 'pr:opened', pullRequest: { id: 1 } })), undefined);
    assert.equal(parsePush('bitbucket', { 'X-Event-Key': 'diagnostics:ping' }, json({ test: true })), undefined);
  });
});

describe('parsePush: other types, refParts', () => {
  it('has nothing to read for generic receivers', () => {
    assert.equal(parsePush('generic', {}, json(githubTagPush)), undefined);
    assert.equal(parsePush('generic-hmac', {}, Buffer.from('not json')), undefined);
  });

  it('splits refs/heads and refs/tags, and nothing else', () => {
    assert.deepEqual(refParts('refs/heads/release/1.x'), { branch: 'release/1.x' });
    assert.deepEqual(refParts('refs/tags/v1.0.0'), { tag: 'v1.0.0' });
    assert.deepEqual(refParts('refs/pull/12/head'), {});
    assert.deepEqual(refParts('main'), {});
    assert.deepEqual(refParts(undefined), {});
  });
});
