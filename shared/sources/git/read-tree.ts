import fs from 'node:fs';
import git from 'isomorphic-git';
import { GitSourceError } from './errors.ts';
import type { GitCache } from './fetch-commit.ts';

export type TreeEntryKind = 'file' | 'executable' | 'symlink';

/** A blob in the commit's tree, at a slash-separated path relative to the root. */
export interface TreeFile {
  path: string;
  kind: TreeEntryKind;
  oid: string;
}

/**
 * Every file and symlink of a commit's tree, read from the object store (no checkout). A name
 * that could step outside the tree or into a .git directory (`..`, `.`, a slash, NUL, empty,
 * `.git`) fails with UnsafePath; submodules (gitlinks, never fetched) are left out.
 */
export async function readTreeFiles(subject: string, gitdir: string, cache: GitCache, commit: string): Promise<TreeFile[]> {
  const { commit: c } = await git.readCommit({ fs, gitdir, cache, oid: commit });
  const out: TreeFile[] = [];
  const walk = async (treeOid: string, prefix: string): Promise<void> => {
    const unsafe = (name: string) =>
      new GitSourceError('UnsafePath', `${subject}: the tree of commit ${commit} has an unsafe path ${JSON.stringify(prefix + name)}: remove it from the repository`);
    let tree: Awaited<ReturnType<typeof git.readTree>>['tree'];
    try {
      ({ tree } = await git.readTree({ fs, gitdir, cache, oid: treeOid }));
    } catch (err) {
      // isomorphic-git refuses to parse a tree with `..`, `.`, a slash or `.git` (and its
      // HFS/NTFS spellings) in a name; say which path, from the root.
      const e = err as { code?: string; data?: { filepath?: string } };
      if (e.code === 'UnsafeFilepathError') throw unsafe(e.data?.filepath ?? '');
      throw err;
    }
    for (const entry of tree) {
      const name = entry.path;
      const path = prefix + name;
      if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) throw unsafe(name);
      if (name.toLowerCase() === '.git') throw unsafe(name);
      if (entry.type === 'tree') await walk(entry.oid, `${path}/`);
      else if (entry.type === 'blob') {
        const kind: TreeEntryKind = entry.mode === '120000' ? 'symlink' : entry.mode === '100755' ? 'executable' : 'file';
        out.push({ path, kind, oid: entry.oid });
      }
      // type 'commit': a submodule; Flux leaves it out unless recurseSubmodules, which Tide does not do yet.
    }
  };
  await walk(c.tree, '');
  return out;
}
