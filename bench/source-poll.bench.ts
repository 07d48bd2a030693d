// An unchanged revision must cost one ref listing: Tide's GitRepository poll against
// `git ls-remote` of the same repository on the same Git server (HTTP, basic auth).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { resolveRevision } from '../shared/sources/git/index.ts';
import { startGitServer } from '../test/rig/git-server.ts';
import { compare, report, time } from './measure.ts';

const run = promisify(execFile);
const OPS = 30;
const git = await startGitServer();
try {
  await git.createRepo('fleet');
  const files: Record<string, string> = {};
  for (let i = 0; i < 200; i++) files[`apps/app-${i}/deploy.yaml`] = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-${i}}\n`;
  await git.commit('fleet', files);
  for (let i = 0; i < 20; i++) await git.commit('fleet', { [`apps/app-${i}/deploy.yaml`]: `# ${i}\n` }, { tag: `v1.0.${i}` });
  const spec = { id: 'flux-system/fleet', url: git.url('fleet'), ref: { branch: 'main' }, credentials: { username: git.username, password: git.password } };
  const count = async (fn: () => Promise<unknown>) => {
    const before = git.requests.length;
    await fn();
    return git.requests.length - before;
  };
  const tideRequests = await count(() => resolveRevision(spec));
  const gitRequests = await count(() => run('git', ['ls-remote', git.authUrl('fleet'), 'refs/heads/main']));
  const result = await compare(
    3,
    () => time(OPS, () => resolveRevision(spec)),
    () => time(OPS, () => run('git', ['ls-remote', git.authUrl('fleet'), 'refs/heads/main'])),
  );
  report('unchanged revision poll', "Tide's resolveRevision", 'git ls-remote', result, `HTTP requests per poll: Tide ${tideRequests}, git ${gitRequests} (git asks anonymously first and is answered 401)`);
} finally {
  await git.stop();
}
