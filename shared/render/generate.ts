import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { isMap, parseAllDocuments } from 'yaml';
import { BuildError } from './errors.ts';
import { KUSTOMIZATION_FILES } from './confine.ts';

/** The kustomization file of a directory, if it has one. */
export async function findKustomizationFile(dir: string): Promise<string | undefined> {
  for (const name of KUSTOMIZATION_FILES) {
    const p = join(dir, name);
    if (await stat(p).then((s) => s.isFile(), () => false)) return p;
  }
  return undefined;
}

/**
 * What Flux generates for a directory without a kustomization.yaml: every YAML file below it that
 * holds Kubernetes objects, and every subdirectory that has its own kustomization, as resources.
 */
export async function generatedResources(dir: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (d: string) => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name.startsWith('.')) continue;
        if (await findKustomizationFile(p)) out.push(relative(dir, p));
        else await visit(p);
      } else if (/\.ya?ml$/.test(e.name) && (await holdsObjects(p, dir))) {
        out.push(relative(dir, p));
      }
    }
  };
  await visit(dir);
  return out;
}

/**
 * Whether every document of the file is a Kubernetes object (top-level apiVersion and kind). A
 * file that is not valid YAML fails the build, as in Flux: skipping it would prune what it holds.
 */
async function holdsObjects(file: string, dir: string): Promise<boolean> {
  const docs = parseAllDocuments(await readFile(file, 'utf8'));
  let objects = 0;
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length) throw new BuildError(`${relative(dir, file)} is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
    if (doc.contents === null) continue; // an empty document
    if (!isMap(doc.contents) || typeof doc.get('apiVersion') !== 'string' || typeof doc.get('kind') !== 'string') return false;
    objects++;
  }
  return objects > 0;
}
