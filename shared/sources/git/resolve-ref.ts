import semver from 'semver';
import { GitSourceError } from './errors.ts';
import { refNotFound } from './failure.ts';
import type { RemoteRef } from './list-refs.ts';
import type { Remote } from './remote.ts';
import { DEFAULT_BRANCH, type GitRepositoryRef } from './types.ts';

/**
 * What to fetch. `ref`: an advertised reference (fullref) whose tip was `commit` when listed, and
 * `label` is what the revision starts with. `commit`: a SHA asked for directly, on `branch` if set.
 */
export type Target =
  | { kind: 'ref'; fullref: string; label: string; commit: string; describe: string }
  | { kind: 'commit'; commit: string; branch: string | undefined };

/** Flux's v1 revision string: `<label>@sha1:<commit>`, or `sha1:<commit>` for a bare commit. */
export function formatRevision(label: string | undefined, commit: string): string {
  return label ? `${label}@sha1:${commit}` : `sha1:${commit}`;
}

export function revisionOf(target: Target, commit: string): string {
  return formatRevision(target.kind === 'ref' ? target.label : target.branch, commit);
}

/** Picks the reference spec.ref asks for from a ref listing, with Flux's precedence. */
export function resolveTarget(remote: Remote, ref: GitRepositoryRef | undefined, refs: readonly RemoteRef[]): Target {
  const r = ref ?? {};
  const byName = new Map(refs.map((x) => [x.name, x]));
  const pick = (fullref: string, label: string, describe: string): Target => {
    const found = byName.get(fullref);
    if (!found) throw refNotFound(remote, describe);
    return { kind: 'ref', fullref, label, commit: found.commit, describe };
  };

  if (r.commit) {
    const commit = checkCommit(remote, r.commit);
    if (r.branch && !byName.has(`refs/heads/${r.branch}`)) throw refNotFound(remote, `branch ${JSON.stringify(r.branch)}`);
    return { kind: 'commit', commit, branch: r.branch || undefined };
  }
  if (r.name) {
    if (!r.name.startsWith('refs/')) {
      throw new GitSourceError('RefNotFound', `${remote.subject}: spec.ref.name ${JSON.stringify(r.name)} is not a full reference name: write it as refs/heads/<branch>, refs/tags/<tag> or refs/pull/<n>/head`);
    }
    return pick(r.name, r.name, `reference ${JSON.stringify(r.name)}`);
  }
  if (r.semver) {
    const tag = highestTag(remote, r.semver, refs);
    return pick(`refs/tags/${tag}`, tag, `tag ${JSON.stringify(tag)}`);
  }
  if (r.tag) return pick(`refs/tags/${r.tag}`, r.tag, `tag ${JSON.stringify(r.tag)}`);
  const branch = r.branch || DEFAULT_BRANCH;
  return pick(`refs/heads/${branch}`, branch, `branch ${JSON.stringify(branch)}`);
}

/** The tag of the highest version satisfying the range; tags may carry a leading `v`. */
function highestTag(remote: Remote, range: string, refs: readonly RemoteRef[]): string {
  if (semver.validRange(range) === null) {
    throw new GitSourceError('RefNotFound', `${remote.subject}: spec.ref.semver ${JSON.stringify(range)} is not a valid semver range: write it like ">=1.0.0 <2.0.0" or "1.x"`);
  }
  let best: { tag: string; version: semver.SemVer } | undefined;
  for (const { name } of refs) {
    if (!name.startsWith('refs/tags/')) continue;
    const tag = name.slice('refs/tags/'.length);
    const version = semver.parse(tag);
    if (!version || !semver.satisfies(version, range)) continue;
    const order = best ? semver.compare(version, best.version) : 1;
    // Equal versions (v1.0.0 and 1.0.0): the name sorting last wins, so the choice is stable.
    if (order > 0 || (order === 0 && best && tag > best.tag)) best = { tag, version };
  }
  if (!best) throw refNotFound(remote, `a tag satisfying semver range ${JSON.stringify(range)}`);
  return best.tag;
}

function checkCommit(remote: Remote, commit: string): string {
  const c = commit.trim().toLowerCase();
  if (!/^[0-9a-f]{40}$/.test(c)) {
    throw new GitSourceError('RefNotFound', `${remote.subject}: spec.ref.commit ${JSON.stringify(commit)} is not a full 40-character SHA-1: write the whole commit SHA`);
  }
  return c;
}
