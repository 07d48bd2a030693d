import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { unpackArtifact } from './unpack.ts';

/**
 * Unpacked artifacts by digest, shared by every build in this process: a fleet of Kustomizations
 * on one repository unpacks it once per revision, not once per Kustomization. Builds never change
 * the tree (their overlay is a directory of their own). The few newest digests are kept; this
 * process's trees are removed when it exits.
 */
const MAX_TREES = 4;
const trees = new Map<string, Promise<string>>();
let exitHook = false;

export async function unpackedTree(digest: string, load: () => Promise<Uint8Array>): Promise<string> {
  const hit = trees.get(digest);
  if (hit) {
    trees.delete(digest);
    trees.set(digest, hit); // most recently used last
    return hit;
  }
  const p = load().then((bytes) => unpackArtifact(bytes));
  trees.set(digest, p);
  p.catch(() => trees.delete(digest));
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const t of trees.values()) void t.then((dir) => rmSync(dir, { recursive: true, force: true }), () => undefined);
    });
  }
  while (trees.size > MAX_TREES) {
    const [oldest, dir] = trees.entries().next().value as [string, Promise<string>];
    trees.delete(oldest);
    void dir.then((d) => rm(d, { recursive: true, force: true }), () => undefined);
  }
  return p;
}
