import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
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
      } else if (/\.ya?ml$/.test(e.name) && (await holdsObjects(p))) {
        out.push(relative(dir, p));
      }
    }
  };
  await visit(dir);
  return out;
}

async function holdsObjects(file: string): Promise<boolean> {
  try {
    const docs = parseAllDocuments(await readFile(file, 'utf8'));
    const objs = (Array.isArray(docs) ? docs : [docs]).map((d) => d.toJS() as { apiVersion?: unknown; kind?: unknown } | null).filter((o) => o);
    return objs.length > 0 && objs.every((o) => typeof o!.apiVersion === 'string' && typeof o!.kind === 'string');
  } catch {
    return false;
  }
}
