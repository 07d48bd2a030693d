import git from 'isomorphic-git';
import { toGitSourceError } from './failure.ts';
import type { Connection, Remote } from './remote.ts';

/** A reference the server advertised; `commit` is what an annotated tag points to, else `oid`. */
export interface RemoteRef {
  name: string;
  oid: string;
  commit: string;
}

/**
 * `git ls-remote`: one GET of info/refs?service=git-upload-pack (over SSH: git-upload-pack's
 * advertisement, then a flush-pkt so no pack is made). Protocol v1 on purpose: v2 would
 * need an upload-pack POST (ls-refs) for the same list, while v1 advertises refs and peeled tags
 * in the first response.
 *
 * Given a `connection`, lists over it and leaves it open (the caller closes it), so that a fetch
 * on the same connection can follow: over SSH that fetch then reuses this git-upload-pack.
 */
export async function listRefs(remote: Remote, connection?: Connection): Promise<RemoteRef[]> {
  const { http, url, close } = connection ?? remote.connect();
  try {
    const refs = await git.listServerRefs({
      http,
      url,
      headers: remote.headers(),
      onAuth: remote.onAuth,
      onAuthFailure: remote.onAuthFailure,
      protocolVersion: 1,
      peelTags: true,
    });
    return refs.map((r) => ({ name: r.ref, oid: r.oid, commit: r.peeled ?? r.oid }));
  } catch (err) {
    throw toGitSourceError(err, remote);
  } finally {
    if (!connection) await close();
  }
}
