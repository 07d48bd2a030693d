import fs from 'node:fs';
import git from 'isomorphic-git';
import { GitSourceError } from './errors.ts';
import { refNotFound, toGitSourceError } from './failure.ts';
import type { Connection, Remote } from './remote.ts';
import type { Target } from './resolve-ref.ts';

/** isomorphic-git's object cache: reusing it across calls keeps pack indexes parsed once. */
export type GitCache = Record<string, unknown>;

/**
 * Fetches one commit into an empty bare repository at `gitdir`: depth 1, that single reference,
 * no tags, so only the commit's tree comes over (plus the tag object for an annotated tag).
 * Returns the commit SHA. A commit asked for by SHA is fetched directly when the server allows
 * it; otherwise, with a branch, the branch's history is fetched and the commit looked up in it.
 *
 * `listed` is the connection the references were just listed on, left open by listRefs: the
 * first fetch goes over it (over SSH, the same git-upload-pack, so no second connection); the
 * caller closes it. A fallback fetch, if one is needed, opens its own.
 */
export async function fetchCommit(remote: Remote, target: Target, gitdir: string, cache: GitCache, listed?: Connection): Promise<string> {
  await git.init({ fs, gitdir, bare: true });
  await git.addRemote({ fs, gitdir, remote: 'origin', url: remote.url });
  let reuse = listed;
  const fetch = async (ref: string, depth: number | undefined, describe: string) => {
    const given = reuse;
    reuse = undefined;
    const { http, url, close } = given ?? remote.connect();
    try {
      const result = await git.fetch({
        fs, http, gitdir, cache, url, remote: 'origin', ref,
        singleBranch: true, tags: false, ...(depth ? { depth } : {}),
        headers: remote.headers(), onAuth: remote.onAuth, onAuthFailure: remote.onAuthFailure,
      });
      return result.fetchHead ?? undefined;
    } catch (err) {
      throw toGitSourceError(err, remote, { name: ref, describe });
    } finally {
      if (!given) await close();
    }
  };

  if (target.kind === 'ref') {
    const head = await fetch(target.fullref, 1, target.describe);
    if (!head) throw refNotFound(remote, target.describe);
    return peelToCommit(remote, gitdir, cache, head, target.describe);
  }

  const describe = `commit ${target.commit}${target.branch ? ` on branch ${JSON.stringify(target.branch)}` : ''}`;
  await fetch(target.commit, 1, describe);
  if (await isCommit(gitdir, cache, target.commit)) return target.commit;
  if (target.branch) {
    // The server would not send a commit by SHA: fetch the branch and look for it there.
    await fetch(`refs/heads/${target.branch}`, undefined, `branch ${JSON.stringify(target.branch)}`);
    if (await isCommit(gitdir, cache, target.commit)) return target.commit;
  }
  throw refNotFound(remote, describe);
}

async function isCommit(gitdir: string, cache: GitCache, oid: string): Promise<boolean> {
  try {
    await git.readCommit({ fs, gitdir, cache, oid });
    return true;
  } catch {
    return false;
  }
}

/** An annotated tag's commit (following tags of tags); a commit is returned as it is. */
async function peelToCommit(remote: Remote, gitdir: string, cache: GitCache, oid: string, describe: string): Promise<string> {
  let current = oid;
  for (let hops = 0; hops < 10; hops++) {
    const { type } = await git.readObject({ fs, gitdir, cache, oid: current, format: 'parsed' });
    if (type === 'commit') return current;
    if (type !== 'tag') break;
    current = (await git.readTag({ fs, gitdir, cache, oid: current })).tag.object;
  }
  throw new GitSourceError('FetchFailed', `${remote.subject}: ${describe} in ${remote.url} does not point to a commit: point spec.ref at a branch, a tag of a commit, or a commit`);
}
