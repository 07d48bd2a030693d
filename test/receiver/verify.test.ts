import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { verifyWebhook, webhookPath, type ReceiverSpec, type WebhookRequest, type WebhookVerdict } from '../../shared/receiver/index.ts';
import { githubRepository, gitlabProject } from './payloads.ts';

// A token no message could contain by accident: any verdict that does leaks it.
const TOKEN = 'tok3n-Zq8vX-never-echo-me-91c4';

// Trimmed real payloads (GitHub's and GitLab's documented examples, Bitbucket Server 8.x).
const githubPush = JSON.stringify({
  ref: 'refs/heads/main',
  before: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
  after: '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c',
  created: false,
  deleted: false,
  forced: false,
  base_ref: null,
  compare: 'https://github.com/Codertocat/Hello-World/compare/6113728f27ae...0d1a26e67d8f',
  commits: [{ id: '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c', message: 'Update README.md', timestamp: '2019-05-15T15:20:30-05:00', modified: ['README.md'] }],
  repository: githubRepository,
  pusher: { name: 'Codertocat', email: '21031067+Codertocat@users.noreply.github.com' },
  sender: { login: 'Codertocat', id: 21031067, type: 'User' },
});

const githubPing = JSON.stringify({
  zen: 'Responsive is better than fast.',
  hook_id: 109948940,
  hook: { type: 'Repository', id: 109948940, name: 'web', active: true, events: ['push'], config: { content_type: 'json', insecure_ssl: '0', url: 'https://hooks.example.com/hook/abc' } },
  repository: { id: 186853002, full_name: 'Codertocat/Hello-World', clone_url: 'https://github.com/Codertocat/Hello-World.git' },
  sender: { login: 'Codertocat', id: 21031067 },
});

const gitlabPush = JSON.stringify({
  object_kind: 'push',
  event_name: 'push',
  before: '95790bf891e76fee5e1747ab589903a6a1f80f22',
  after: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
  ref: 'refs/heads/master',
  ref_protected: true,
  checkout_sha: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
  user_id: 4,
  user_username: 'jsmith',
  project_id: 15,
  project: gitlabProject,
  repository: {
    name: 'Diaspora',
    url: 'git@example.com:mike/diaspora.git',
    homepage: 'http://example.com/mike/diaspora',
    git_http_url: 'http://example.com/mike/diaspora.git',
    git_ssh_url: 'git@example.com:mike/diaspora.git',
    visibility_level: 0,
  },
  commits: [{ id: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7', message: 'fixed readme', timestamp: '2012-01-03T23:36:29+02:00' }],
  total_commits_count: 1,
});

const bitbucketPush = JSON.stringify({
  eventKey: 'repo:refs_changed',
  date: '2017-09-19T09:45:32+1000',
  actor: { name: 'admin', emailAddress: 'admin@example.com', id: 1, displayName: 'Administrator', slug: 'admin', type: 'NORMAL' },
  repository: {
    slug: 'repository',
    id: 84,
    name: 'repository',
    scmId: 'git',
    state: 'AVAILABLE',
    forkable: true,
    project: { key: 'PROJ', id: 84, name: 'project', public: false, type: 'NORMAL' },
    public: false,
    links: {
      clone: [
        { href: 'ssh://git@bitbucket.example.com:7999/proj/repository.git', name: 'ssh' },
        { href: 'https://bitbucket.example.com/scm/proj/repository.git', name: 'http' },
      ],
      self: [{ href: 'https://bitbucket.example.com/projects/PROJ/repos/repository/browse' }],
    },
  },
  changes: [{ ref: { id: 'refs/heads/master', displayId: 'master', type: 'BRANCH' }, refId: 'refs/heads/master', fromHash: 'ecddabb624f6f5ba43816f5926e580a5f680a932', toHash: '178864a7d521b6f5e720b386b2c2b0ef8563e0dc', type: 'UPDATE' }],
});

const bitbucketPing = JSON.stringify({ test: true });

const hmac = (algorithm: string, body: string | Buffer, key = TOKEN) => createHmac(algorithm, key).update(body).digest('hex');
const spec = (type: string, events?: string[]): ReceiverSpec => ({ type, ...(events ? { events } : {}), secretRef: { name: 'webhook-token' }, resources: [{ kind: 'GitRepository', name: 'app' }] });
const post = (body: string | Buffer, headers: Record<string, string | undefined>): WebhookRequest => ({ method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: Buffer.isBuffer(body) ? body : Buffer.from(body) });

/** Every verdict goes through here: no message may carry the token or a signature sent. */
function verify(s: ReceiverSpec, req: WebhookRequest, token = TOKEN, options?: { maxBodyBytes?: number }): WebhookVerdict {
  const v = verifyWebhook(s, token, req, options);
  assert.ok(!v.message.includes(TOKEN), `message leaks the token: ${v.message}`);
  for (const value of Object.values(req.headers)) {
    const hex = /=([0-9a-f]{16,})/i.exec(value ?? '')?.[1];
    if (hex) assert.ok(!v.message.includes(hex.slice(0, 16)), `message echoes a signature: ${v.message}`);
  }
  return v;
}

const github = (body: string, event: string, sig: Record<string, string> = { 'X-Hub-Signature-256': `sha256=${hmac('sha256', body)}` }) =>
  post(body, { 'X-GitHub-Event': event, 'X-GitHub-Delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958', ...sig });
// null: the header is not sent.
const gitlab = (body: string, event: string, token: string | null = TOKEN) => post(body, { 'X-Gitlab-Event': event, 'X-Gitlab-Token': token ?? undefined });
const bitbucket = (body: string, event: string, sig: string | null = `sha256=${hmac('sha256', body)}`) =>
  post(body, { 'X-Event-Key': event, 'X-Request-Id': '0d0a-4c2f', 'X-Hub-Signature': sig ?? undefined });

describe('verifyWebhook: github', () => {
  it('accepts a push signed with X-Hub-Signature-256 and reads the push', () => {
    const v = verify(spec('github', ['push']), github(githubPush, 'push'));
    assert.deepEqual(v, {
      status: 202,
      outcome: 'accepted',
      message: 'github event "push" accepted',
      push: {
        ref: 'refs/heads/main',
        branch: 'main',
        commit: '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c',
        repositoryUrls: [
          'https://github.com/Codertocat/Hello-World.git',
          'git@github.com:Codertocat/Hello-World.git',
          'https://github.com/Codertocat/Hello-World',
          'git://github.com/Codertocat/Hello-World.git',
        ],
      },
    });
  });

  it('reads header names in any case, and upper-case hex', () => {
    const req = post(githubPush, { 'x-github-event': 'push', 'X-HUB-SIGNATURE-256': `sha256=${hmac('sha256', githubPush).toUpperCase()}` });
    assert.equal(verify(spec('github'), req).status, 202);
  });

  it('accepts the legacy sha1 X-Hub-Signature only when there is no X-Hub-Signature-256', () => {
    const legacy = { 'X-Hub-Signature': `sha1=${hmac('sha1', githubPush)}` };
    assert.equal(verify(spec('github'), github(githubPush, 'push', legacy)).status, 202);
    const v = verify(spec('github'), github(githubPush, 'push', { ...legacy, 'X-Hub-Signature-256': `sha256=${hmac('sha256', 'another body')}` }));
    assert.equal(v.status, 401);
    assert.match(v.message, /X-Hub-Signature-256/);
    // X-Hub-Signature is sha1 on GitHub: sha256 there is not what GitHub sends.
    assert.equal(verify(spec('github'), github(githubPush, 'push', { 'X-Hub-Signature': `sha256=${hmac('sha256', githubPush)}` })).status, 401);
  });

  it('rejects a wrong token, a replayed signature, a truncated hex, another algorithm, a missing header', () => {
    const cases: Array<[string, Record<string, string>]> = [
      ['wrong token', { 'X-Hub-Signature-256': `sha256=${hmac('sha256', githubPush, 'not-the-token')}` }],
      ['signature of another body', { 'X-Hub-Signature-256': `sha256=${hmac('sha256', githubPush.replace('main', 'evil'))}` }],
      ['truncated hex', { 'X-Hub-Signature-256': `sha256=${hmac('sha256', githubPush).slice(0, -1)}` }],
      ['hex cut in half', { 'X-Hub-Signature-256': `sha256=${hmac('sha256', githubPush).slice(0, 32)}` }],
      ['sha1 in the -256 header', { 'X-Hub-Signature-256': `sha1=${hmac('sha1', githubPush)}` }],
      ['sha512 in the -256 header', { 'X-Hub-Signature-256': `sha512=${hmac('sha512', githubPush)}` }],
      ['no prefix', { 'X-Hub-Signature-256': hmac('sha256', githubPush) }],
      ['not hex', { 'X-Hub-Signature-256': `sha256=${'zz'.repeat(32)}` }],
      ['empty', { 'X-Hub-Signature-256': '' }],
    ];
    for (const [what, sig] of cases) {
      const v = verify(spec('github'), github(githubPush, 'push', sig));
      assert.equal(v.status, 401, what);
      assert.equal(v.outcome, 'rejected', what);
      assert.match(v.message, /X-Hub-Signature-256/, what);
    }
    const missing = verify(spec('github'), github(githubPush, 'push', {}));
    assert.deepEqual(missing, { status: 401, outcome: 'rejected', message: 'missing X-Hub-Signature-256 header: set the webhook secret to the receiver token' });
  });

  it('answers a signed ping with 200, whatever spec.events says, and an unsigned one with 401', () => {
    assert.deepEqual(verify(spec('github', ['push']), github(githubPing, 'ping')), { status: 200, outcome: 'ping', message: 'github ping received' });
    assert.equal(verify(spec('github'), github(githubPing, 'ping', {})).status, 401);
  });

  it('ignores an event not in spec.events, comparing case-insensitively', () => {
    const v = verify(spec('github', ['push']), github(githubPush, 'issues'));
    assert.deepEqual(v, { status: 200, outcome: 'ignored', message: 'github event "issues" is not in spec.events (push)' });
    assert.equal(verify(spec('github', ['Push']), github(githubPush, 'push')).status, 202);
    // No X-GitHub-Event at all is not an event that is listed.
    assert.equal(verify(spec('github', ['push']), post(githubPush, { 'X-Hub-Signature-256': `sha256=${hmac('sha256', githubPush)}` })).outcome, 'ignored');
  });

  it('accepts another allowed event without push info, so the caller requests every resource', () => {
    const release = JSON.stringify({ action: 'published', release: { tag_name: 'v1.0.0' }, repository: { clone_url: 'https://github.com/Codertocat/Hello-World.git' } });
    const v = verify(spec('github', ['push', 'release']), github(release, 'release'));
    assert.deepEqual(v, { status: 202, outcome: 'accepted', message: 'github event "release" accepted' });
  });

  it('reads a form-encoded push (payload=...) signed over the raw form body', () => {
    const body = `payload=${encodeURIComponent(githubPush)}`;
    const req = post(body, { 'Content-Type': 'application/x-www-form-urlencoded', 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': `sha256=${hmac('sha256', body)}` });
    const v = verify(spec('github'), req);
    assert.equal(v.status, 202);
    assert.equal(v.outcome === 'accepted' && v.push?.commit, '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c');
  });

  it('rejects malformed JSON with 400 only once the signature is good', () => {
    const bad = '{"ref": "refs/heads/main", ';
    const v = verify(spec('github'), github(bad, 'push'));
    assert.equal(v.status, 400);
    assert.equal(v.outcome, 'rejected');
    assert.match(v.message, /not valid JSON/);
    assert.equal(verify(spec('github'), github('[1,2]', 'push')).status, 400);
    assert.equal(verify(spec('github'), github(bad, 'push', { 'X-Hub-Signature-256': `sha256=${hmac('sha256', bad, 'x')}` })).status, 401);
  });
});

describe('verifyWebhook: gitlab', () => {
  it('accepts a push with the token in X-Gitlab-Token', () => {
    const v = verify(spec('gitlab', ['Push Hook', 'Tag Push Hook']), gitlab(gitlabPush, 'Push Hook'));
    assert.deepEqual(v, {
      status: 202,
      outcome: 'accepted',
      message: 'gitlab event "Push Hook" accepted',
      push: {
        ref: 'refs/heads/master',
        branch: 'master',
        commit: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
        repositoryUrls: ['http://example.com/mike/diaspora.git', 'git@example.com:mike/diaspora.git', 'http://example.com/mike/diaspora'],
      },
    });
  });

  it('rejects a wrong, longer, shorter, differently-cased or missing token', () => {
    for (const wrong of ['not-the-token', `${TOKEN}x`, TOKEN.slice(0, -1), TOKEN.toUpperCase(), ` ${TOKEN}`, 'x']) {
      const v = verify(spec('gitlab'), gitlab(gitlabPush, 'Push Hook', wrong));
      assert.deepEqual(v, { status: 401, outcome: 'rejected', message: 'X-Gitlab-Token does not match the receiver token' }, wrong);
    }
    assert.deepEqual(verify(spec('gitlab'), gitlab(gitlabPush, 'Push Hook', null)), {
      status: 401,
      outcome: 'rejected',
      message: 'missing X-Gitlab-Token header: set the webhook secret token to the receiver token',
    });
    // A GitHub-style signature is not a GitLab token.
    assert.equal(verify(spec('gitlab'), post(gitlabPush, { 'X-Gitlab-Event': 'Push Hook', 'X-Hub-Signature-256': `sha256=${hmac('sha256', gitlabPush)}` })).status, 401);
  });

  it('filters on X-Gitlab-Event', () => {
    const v = verify(spec('gitlab', ['Tag Push Hook']), gitlab(gitlabPush, 'Push Hook'));
    assert.deepEqual(v, { status: 200, outcome: 'ignored', message: 'gitlab event "Push Hook" is not in spec.events (Tag Push Hook)' });
    assert.equal(verify(spec('gitlab', ['push hook']), gitlab(gitlabPush, 'Push Hook')).status, 202);
  });

  it('rejects malformed JSON with 400', () => {
    assert.equal(verify(spec('gitlab'), gitlab('not json', 'Push Hook')).status, 400);
  });
});

describe('verifyWebhook: bitbucket (Server / Data Center)', () => {
  it('accepts repo:refs_changed signed with sha256 in X-Hub-Signature', () => {
    const v = verify(spec('bitbucket', ['repo:refs_changed']), bitbucket(bitbucketPush, 'repo:refs_changed'));
    assert.deepEqual(v, {
      status: 202,
      outcome: 'accepted',
      message: 'bitbucket event "repo:refs_changed" accepted',
      push: {
        ref: 'refs/heads/master',
        branch: 'master',
        commit: '178864a7d521b6f5e720b386b2c2b0ef8563e0dc',
        repositoryUrls: [
          'ssh://git@bitbucket.example.com:7999/proj/repository.git',
          'https://bitbucket.example.com/scm/proj/repository.git',
          'https://bitbucket.example.com/projects/PROJ/repos/repository/browse',
        ],
      },
    });
  });

  it('rejects a wrong token, a replay, a truncated hex, another algorithm, a missing header', () => {
    const cases: Array<[string, string]> = [
      ['wrong token', `sha256=${hmac('sha256', bitbucketPush, 'not-the-token')}`],
      ['signature of another body', `sha256=${hmac('sha256', bitbucketPing)}`],
      ['truncated hex', `sha256=${hmac('sha256', bitbucketPush).slice(0, -2)}`],
      ['sha1', `sha1=${hmac('sha1', bitbucketPush)}`],
      ['sha512', `sha512=${hmac('sha512', bitbucketPush)}`],
    ];
    for (const [what, sig] of cases) {
      const v = verify(spec('bitbucket'), bitbucket(bitbucketPush, 'repo:refs_changed', sig));
      assert.equal(v.status, 401, what);
      assert.equal(v.message, 'X-Hub-Signature does not match the body signed with the receiver token (expected sha256=<hex>)', what);
    }
    assert.deepEqual(verify(spec('bitbucket'), bitbucket(bitbucketPush, 'repo:refs_changed', null)), {
      status: 401,
      outcome: 'rejected',
      message: 'missing X-Hub-Signature header: set the webhook secret to the receiver token',
    });
  });

  it('answers diagnostics:ping with 200 and filters on X-Event-Key', () => {
    assert.deepEqual(verify(spec('bitbucket', ['repo:refs_changed']), bitbucket(bitbucketPing, 'diagnostics:ping')), { status: 200, outcome: 'ping', message: 'bitbucket ping received' });
    assert.equal(verify(spec('bitbucket'), bitbucket(bitbucketPing, 'diagnostics:ping', `sha256=${hmac('sha256', bitbucketPush)}`)).status, 401);
    const pr = JSON.stringify({ eventKey: 'pr:opened', pullRequest: { id: 1 } });
    assert.deepEqual(verify(spec('bitbucket', ['repo:refs_changed']), bitbucket(pr, 'pr:opened')), {
      status: 200,
      outcome: 'ignored',
      message: 'bitbucket event "pr:opened" is not in spec.events (repo:refs_changed)',
    });
  });
});

describe('verifyWebhook: generic and generic-hmac', () => {
  const body = '{"image":"ghcr.io/acme/app:1.2.3"}';

  it('generic: accepts anything POSTed to the path, without push info', () => {
    assert.deepEqual(verify(spec('generic'), post(body, {})), { status: 202, outcome: 'accepted', message: 'generic webhook accepted' });
    // It does not parse the body: the sender owns its format.
    assert.equal(verify(spec('generic'), post('not json', {})).status, 202);
  });

  it('generic-hmac: accepts sha1, sha256 and sha512 in X-Signature', () => {
    for (const algorithm of ['sha1', 'sha256', 'sha512']) {
      const v = verify(spec('generic-hmac'), post(body, { 'X-Signature': `${algorithm}=${hmac(algorithm, body)}` }));
      assert.deepEqual(v, { status: 202, outcome: 'accepted', message: 'generic-hmac webhook accepted' }, algorithm);
    }
  });

  it('generic-hmac: rejects a wrong token, a replay, a truncated hex, another algorithm, a mismatched prefix, a missing header', () => {
    const wrong = 'X-Signature does not match the body signed with the receiver token (expected sha1=<hex> or sha256=<hex> or sha512=<hex>)';
    const cases: Array<[string, string]> = [
      ['wrong token', `sha256=${hmac('sha256', body, 'not-the-token')}`],
      ['signature of another body', `sha256=${hmac('sha256', '{"image":"ghcr.io/acme/app:6.6.6"}')}`],
      ['truncated hex', `sha512=${hmac('sha512', body).slice(0, 127)}`],
      ['md5', `md5=${hmac('md5', body)}`],
      ['prefix says sha1, hex is sha256', `sha1=${hmac('sha256', body)}`],
      ['prefix says sha512, hex is sha256 twice', `sha512=${hmac('sha256', body).repeat(2)}`],
      ['upper-case prefix', `SHA256=${hmac('sha256', body)}`],
    ];
    for (const [what, sig] of cases) {
      assert.deepEqual(verify(spec('generic-hmac'), post(body, { 'X-Signature': sig })), { status: 401, outcome: 'rejected', message: wrong }, what);
    }
    assert.deepEqual(verify(spec('generic-hmac'), post(body, {})), { status: 401, outcome: 'rejected', message: 'missing X-Signature header: set the webhook secret to the receiver token' });
  });
});

describe('verifyWebhook: order of checks and limits', () => {
  const signed = (body: Buffer) => post(body, { 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': `sha256=${hmac('sha256', body)}` });

  it('405 for anything but POST, before anything else', () => {
    const req = { ...github(githubPush, 'push'), method: 'GET' };
    assert.deepEqual(verify(spec('github'), req), { status: 405, outcome: 'rejected', message: 'webhooks must be sent with POST' });
    assert.equal(verify(spec('github'), { ...req, body: Buffer.alloc(10) }, TOKEN, { maxBodyBytes: 1 }).status, 405);
    assert.equal(verify(spec('github'), { ...github(githubPush, 'push'), method: 'post' }).status, 202);
  });

  it('413 for a body over the limit, even one signed correctly, before the signature is checked', () => {
    const huge = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    assert.deepEqual(verify(spec('github'), signed(huge)), { status: 413, outcome: 'rejected', message: `body of ${huge.length} bytes is over the limit of 4194304` });
    assert.equal(verify(spec('github'), post(huge, {})).status, 413);
    assert.equal(verify(spec('nexus'), post(huge, {})).status, 413);
  });

  it('maxBodyBytes is inclusive', () => {
    const body = Buffer.from(githubPush);
    assert.equal(verify(spec('github'), signed(body), TOKEN, { maxBodyBytes: body.length }).status, 202);
    assert.equal(verify(spec('github'), signed(body), TOKEN, { maxBodyBytes: body.length - 1 }).status, 413);
  });

  it('400 naming an unsupported type and the supported ones', () => {
    assert.deepEqual(verify(spec('harbor'), post('{}', { Authorization: TOKEN })), {
      status: 400,
      outcome: 'rejected',
      message: 'receiver type "harbor" is not supported: use one of github, gitlab, bitbucket, generic, generic-hmac',
    });
  });

  it('401 when the secret has no token, for every type, even the generic one', () => {
    for (const type of ['github', 'gitlab', 'bitbucket', 'generic', 'generic-hmac']) {
      // A request signed with the empty key must not pass either.
      const req = post(githubPush, { 'X-Hub-Signature-256': `sha256=${hmac('sha256', githubPush, '')}`, 'X-Hub-Signature': `sha256=${hmac('sha256', githubPush, '')}`, 'X-Gitlab-Token': '', 'X-Signature': `sha256=${hmac('sha256', githubPush, '')}` });
      assert.deepEqual(verify(spec(type), req, ''), { status: 401, outcome: 'rejected', message: 'receiver secret has no token' }, type);
    }
  });

  it('never puts the token in a message, whatever is sent', () => {
    const requests: Array<[string, WebhookRequest]> = [
      ['github', github(githubPush, 'push', { 'X-Hub-Signature-256': `sha256=${TOKEN}` })],
      ['github', github(githubPush, TOKEN)],
      ['gitlab', gitlab(gitlabPush, 'Push Hook', `${TOKEN} `)],
      ['gitlab', gitlab(`{"x":"${TOKEN}"`, 'Push Hook')],
      ['bitbucket', bitbucket(bitbucketPush, 'repo:refs_changed', TOKEN)],
      ['generic-hmac', post('{}', { 'X-Signature': TOKEN })],
      ['github', { ...github(githubPush, 'push'), method: TOKEN }],
    ];
    for (const [type, req] of requests) {
      const v = verify(spec(type, ['push', 'Push Hook']), req);
      assert.notEqual(v.status, 202, type);
      assert.ok(!v.message.includes(TOKEN), v.message);
    }
  });
});

describe('webhookPath', () => {
  it('is /hook/ and the sha256 of token+name+namespace+cluster, stable across calls', () => {
    const path = webhookPath('prod-eu', 'flux-system', 'github-receiver', TOKEN);
    assert.match(path, /^\/hook\/[0-9a-f]{64}$/);
    assert.equal(path, `/hook/${createHash('sha256').update(`${TOKEN}github-receiverflux-systemprod-eu`).digest('hex')}`);
    assert.equal(webhookPath('prod-eu', 'flux-system', 'github-receiver', TOKEN), path);
    assert.ok(!path.includes(TOKEN));
  });

  it('differs per cluster, namespace, name and token', () => {
    const base = webhookPath('prod-eu', 'flux-system', 'github-receiver', TOKEN);
    const others = [
      webhookPath('prod-us', 'flux-system', 'github-receiver', TOKEN),
      webhookPath('prod-eu', 'apps', 'github-receiver', TOKEN),
      webhookPath('prod-eu', 'flux-system', 'gitlab-receiver', TOKEN),
      webhookPath('prod-eu', 'flux-system', 'github-receiver', `${TOKEN}2`),
    ];
    assert.equal(new Set([base, ...others]).size, 5);
  });
});
