import { lstat, readdir, readFile, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parse } from 'yaml';

export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/** A path in the source that would let kustomize read outside the artifact, or fetch from the network. */
export class ConfinementError extends Error {
  override readonly name = 'ConfinementError';
}

const REMOTE = /^(https?:\/\/|git::|ssh:\/\/|git@|github\.com\/|gitlab\.com\/|bitbucket\.org\/|oci:\/\/)/i;

/**
 * Checks, before kustomize runs, that every path any kustomization in the tree refers to stays
 * inside `root` and that none is a remote base; and that no symlink in the tree points outside it.
 * This is the class of CVE-2022-24877 and CVE-2022-24904: a kustomization that reads the
 * controller's own files, or one that makes it fetch from the network.
 */
export async function confine(root: string, buildDir = root, pathDir = buildDir): Promise<void> {
  const realRoot = await realpath(root);
  // Symlinks under the Kustomization's path (a generated kustomization takes every file there).
  for (const file of await walk(pathDir)) {
    if (!(await lstat(file).then((st) => st.isSymbolicLink(), () => false))) continue;
    const target = await realpath(file).catch(() => undefined);
    if (!target || !inside(realRoot, target)) throw new ConfinementError(`${relative(realRoot, file)} is a symlink that points outside the source; remove it`);
  }
  // Every kustomization the build can reach, and every path they name, resolved through symlinks.
  const queue = [await realpath(buildDir)];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const dir = queue.shift()!;
    if (seen.has(dir)) continue;
    seen.add(dir);
    const file = await kustomizationFileIn(dir);
    if (file) queue.push(...(await checkKustomization(realRoot, file)));
  }
}

async function kustomizationFileIn(dir: string): Promise<string | undefined> {
  for (const name of KUSTOMIZATION_FILES) {
    const p = join(dir, name);
    if (await lstat(p).then((st) => st.isFile(), () => false)) return p;
  }
  return undefined;
}

/** Checks one kustomization; returns the directories it refers to (bases, components) to check next. */
async function checkKustomization(root: string, file: string): Promise<string[]> {
  const rel = relative(root, file);
  let doc: Record<string, unknown>;
  try {
    doc = (parse(await readFile(file, 'utf8')) ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw new ConfinementError(`${rel} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const dir = dirname(file);
  const next: string[] = [];
  const targets: Array<{ target: string; field: string; p: string }> = [];
  const check = (p: unknown, field: string) => {
    if (typeof p !== 'string' || p === '') return;
    if (REMOTE.test(p)) throw new ConfinementError(`${rel}: ${field} ${JSON.stringify(p)} is a remote base; remote bases are disabled: vendor it into the repository`);
    const target = isAbsolute(p) ? p : resolve(dir, p);
    if (!inside(root, target)) throw new ConfinementError(`${rel}: ${field} ${JSON.stringify(p)} points outside the source; paths must stay inside the repository`);
    targets.push({ target, field, p });
  };
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  for (const f of ['resources', 'bases', 'components', 'crds', 'configurations', 'generators', 'transformers', 'validators', 'patchesStrategicMerge']) {
    for (const p of list(doc[f])) if (typeof p === 'string' && !p.includes('\n')) check(p, f);
  }
  for (const p of list(doc.patches)) check((p as { path?: unknown })?.path, 'patches.path');
  for (const p of list(doc.patchesJson6902)) check((p as { path?: unknown })?.path, 'patchesJson6902.path');
  for (const p of list(doc.replacements)) check((p as { path?: unknown })?.path, 'replacements.path');
  check((doc.openapi as { path?: unknown } | undefined)?.path, 'openapi.path');
  for (const g of [...list(doc.configMapGenerator), ...list(doc.secretGenerator)]) {
    const gen = g as { files?: unknown; envs?: unknown; env?: unknown };
    for (const f of list(gen.files)) if (typeof f === 'string') check(f.includes('=') ? f.slice(f.indexOf('=') + 1) : f, 'generator files');
    for (const e of list(gen.envs)) check(e, 'generator envs');
    check(gen.env, 'generator env');
  }
  if (doc.helmCharts || doc.helmChartInflationGenerator) {
    throw new ConfinementError(`${rel}: helmCharts needs kustomize's Helm inflation, which is disabled; use a HelmRelease`);
  }
  // The same paths through any symlink on the way: still inside.
  for (const t of targets) {
    const real = await realpath(t.target).catch(() => undefined); // a missing file is kustomize's to report
    if (real && !inside(root, real)) throw new ConfinementError(`${rel}: ${t.field} ${JSON.stringify(t.p)} leads through a symlink outside the source`);
    if (real) next.push(real);
  }
  return next;
}

function inside(root: string, target: string): boolean {
  const r = relative(root, target);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
}

/** Files and symlinks below a directory, skipping other builds' overlays (they come and go). */
async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (e.name.startsWith('.tide-build-')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}
