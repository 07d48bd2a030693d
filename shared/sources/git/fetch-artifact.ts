import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { checkSymlinks } from './check-symlinks.ts';
import { GitSourceError } from './errors.ts';
import { toGitSourceError } from './failure.ts';
import { fetchCommit, type GitCache } from './fetch-commit.ts';
import { ignoreMatcher, SOURCE_IGNORE_FILE, type PatternSource } from './ignore-rules.ts';
import { listRefs } from './list-refs.ts';
import { packTarball, type PackEntry } from './pack-tarball.ts';
import { readTreeFiles, type TreeFile } from './read-tree.ts';
import { openRemote, type Connection, type Remote } from './remote.ts';
import { resolveTarget, revisionOf, type Target } from './resolve-ref.ts';
import { DEFAULT_MAX_ARTIFACT_BYTES, type GitSourceSpec } from './types.ts';

export interface FetchedArtifact {
  revision: string;
  commit: string;
  /** The deterministic tar.gz of the tree, ignore rules applied. */
  tarball: Uint8Array;
  /** Entries in the tarball (files and symlinks). */
  files: number;
}

export interface FetchOptions {
  /** Parent of the temporary repository (default os.tmpdir()); it is removed afterwards, also on failure. */
  workDir?: string;
}

/** What fetchArtifactIfChanged returns when the listed revision is the one already held. */
export interface UnchangedRevision {
  unchanged: true;
  revision: string;
  commit: string;
}

/** Says whether `revision` (as resolveRevision gives it) is the one already held; may be async. */
export type IsCurrent = (revision: string, commit: string) => boolean | Promise<boolean>;

/**
 * Fetches the tree spec.ref points at and packs it: one ref listing, then a shallow (depth 1),
 * single-reference fetch into a temporary bare repository, read straight from the object store
 * (nothing checked out, no history kept). Over SSH the listing and the fetch are one connection.
 */
export async function fetchArtifact(spec: GitSourceSpec, options: FetchOptions = {}): Promise<FetchedArtifact> {
  return listThenFetch<never>(spec, options, () => undefined);
}

/**
 * resolveRevision and fetchArtifact in one: lists the references, asks `isCurrent` about the
 * revision spec.ref points at, and stops there if it says yes (one ref listing, nothing
 * downloaded: as cheap as resolveRevision), else fetches and packs that revision. Over SSH the
 * fetch goes on the listing's connection and git-upload-pack: one connection either way. An
 * error thrown by `isCurrent` is passed on as it is.
 */
export async function fetchArtifactIfChanged(spec: GitSourceSpec, isCurrent: IsCurrent, options: FetchOptions = {}): Promise<FetchedArtifact | UnchangedRevision> {
  return listThenFetch<UnchangedRevision>(spec, options, async (revision, commit) => ((await isCurrent(revision, commit)) ? { unchanged: true, revision, commit } : undefined));
}

/** Lists, lets `stop` end it there with its answer, else fetches over the same connection. */
async function listThenFetch<T>(spec: GitSourceSpec, options: FetchOptions, stop: (revision: string, commit: string) => T | undefined | Promise<T | undefined>): Promise<FetchedArtifact | T> {
  const remote = openRemote(spec);
  const connection = remote.connect();
  try {
    const target = resolveTarget(remote, spec.ref, await listRefs(remote, connection));
    const stopped = await stop(revisionOf(target, target.commit), target.commit);
    if (stopped !== undefined) return stopped;
    return await fetchAndPack(remote, spec, target, connection, options);
  } finally {
    await connection.close();
  }
}

async function fetchAndPack(remote: Remote, spec: GitSourceSpec, target: Target, connection: Connection, options: FetchOptions): Promise<FetchedArtifact> {
  const maxBytes = spec.maxArtifactBytes ?? DEFAULT_MAX_ARTIFACT_BYTES;
  const gitdir = await mkdtemp(join(options.workDir ?? tmpdir(), 'tide-git-'));
  try {
    const cache: GitCache = {};
    const commit = await fetchCommit(remote, target, gitdir, cache, connection);
    const revision = revisionOf(target, commit);
    const read = async (oid: string) => (await git.readBlob({ fs, gitdir, cache, oid })).blob;
    const entries = await selectEntries(remote, spec, await readTreeFiles(remote.subject, gitdir, cache, commit), read);
    const packed = await packTarball(entries, maxBytes);
    if (!packed.bytes) {
      throw new GitSourceError('ArtifactTooLarge', `${remote.subject}: the artifact for ${revision} is ${formatBytes(packed.size)}, over the limit of ${formatBytes(maxBytes)}: add ignore rules (a .sourceignore file or spec.ignore) to leave out what the cluster does not need`);
    }
    return { revision, commit, tarball: packed.bytes, files: entries.length };
  } catch (err) {
    throw toGitSourceError(err, remote);
  } finally {
    await rm(gitdir, { recursive: true, force: true });
  }
}

/** The tree's files minus the ignored ones, symlinks checked to stay inside the tree. */
async function selectEntries(remote: Remote, spec: GitSourceSpec, files: readonly TreeFile[], read: (oid: string) => Promise<Uint8Array>): Promise<PackEntry[]> {
  const text = async (oid: string) => Buffer.from(await read(oid)).toString('utf8');
  const ignoreFiles = files
    .filter((f) => f.kind !== 'symlink' && (f.path === SOURCE_IGNORE_FILE || f.path.endsWith(`/${SOURCE_IGNORE_FILE}`)))
    .map((f) => ({ f, dir: f.path.slice(0, -SOURCE_IGNORE_FILE.length) }))
    .sort((a, b) => compareDirs(a.dir, b.dir));
  const sources: PatternSource[] = [];
  for (const { f, dir } of ignoreFiles) sources.push({ dir, text: await text(f.oid) });
  if (spec.ignore) sources.push({ dir: '', text: spec.ignore });
  const ignored = ignoreMatcher(sources);

  const links = new Map<string, string>();
  for (const f of files) if (f.kind === 'symlink') links.set(f.path, await text(f.oid));
  const kept = files.filter((f) => !ignored(f.path));
  checkSymlinks(remote.subject, links, kept.filter((f) => f.kind === 'symlink').map((f) => f.path));
  return kept.map((f): PackEntry =>
    f.kind === 'symlink'
      ? { path: f.path, type: 'symlink', target: links.get(f.path)! }
      : { path: f.path, type: 'file', executable: f.kind === 'executable', read: () => read(f.oid) },
  );
}

/** Flux reads .sourceignore files root first, then each directory depth-first, children by name. */
function compareDirs(a: string, b: string): number {
  const pa = a.split('/').filter(Boolean);
  const pb = b.split('/').filter(Boolean);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return pa[i]! < pb[i]! ? -1 : 1;
  }
  return pa.length - pb.length;
}

function formatBytes(n: number): string {
  const mib = n / (1024 * 1024);
  if (mib >= 1) return `${mib.toFixed(1)} MiB (${n} bytes)`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB (${n} bytes)`;
  return `${n} bytes`;
}
