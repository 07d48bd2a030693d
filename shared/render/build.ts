import { mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { Unstructured } from '../apply/object.ts';
import { kustomizeServerPath } from '../tools/binaries.ts';
import { runTool, ToolError } from '../tools/run-tool.ts';
import { confine } from './confine.ts';
import { BuildError } from './errors.ts';
import { KustomizeServer, type KustomizeOutput } from './kustomize-server.ts';
import { findKustomizationFile, generatedResources } from './generate.ts';
import { SUBSTITUTE_ANNOTATION, substitute } from './substitute.ts';

/** The fields of a Flux Kustomization (kustomize.toolkit.fluxcd.io/v1) that shape the build. */
export interface BuildSpec {
  path?: string;
  targetNamespace?: string;
  namePrefix?: string;
  nameSuffix?: string;
  commonMetadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  patches?: Array<{ patch: string; target?: Record<string, unknown> }>;
  images?: Array<{ name: string; newName?: string; newTag?: string; digest?: string }>;
  components?: string[];
}

export interface BuildOptions {
  /** postBuild variables, already merged from substitute and substituteFrom. */
  vars?: Record<string, string>;
  /** Fail on a variable without a value or default, instead of substituting "". */
  strictSubstitution?: boolean;
}

export { BuildError };

/**
 * Builds a Flux Kustomization from an unpacked source tree with kustomize 5.7 (tide-kustomize, or
 * kubectl's `kustomize` from the Lambda layer where it is not built): generates a kustomization.yaml where there is none, adds
 * the spec's targetNamespace, namePrefix/nameSuffix, patches, images and components, checks that
 * no path leaves the tree and no base is remote, builds, then sets commonMetadata and substitutes
 * postBuild variables. The tree is not changed (Tide's overlay lives in a temporary directory).
 */
export async function buildKustomization(root: string, spec: BuildSpec, options: BuildOptions = {}): Promise<Unstructured[]> {
  const realRoot = await realpath(root);
  const dir = resolve(realRoot, spec.path ?? './');
  const rel = relative(realRoot, dir);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new BuildError(`path ${JSON.stringify(spec.path)} points outside the source`);
  if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) {
    throw new BuildError(`path ${JSON.stringify(spec.path ?? './')} does not exist in the source (or is not a directory)`);
  }
  if (relative(realRoot, await realpath(dir)).startsWith('..')) throw new BuildError(`path ${JSON.stringify(spec.path)} is a symlink out of the source`);

  // Tide's own kustomization goes in a fresh directory beside the path, over it: the source tree
  // is never changed, so one unpacked artifact can serve many builds.
  const overlay = await mkdtemp(join(realRoot, '.tide-build-'));
  let output: KustomizeOutput;
  try {
    await writeOverlay(overlay, dir, spec);
    try {
      await confine(realRoot, overlay, dir);
    } catch (err) {
      throw new BuildError((err as Error).message);
    }
    output = await kustomize(overlay, realRoot, dir, options.vars !== undefined);
  } catch (err) {
    if (err instanceof BuildError) throw err;
    // kubectl's own words when it printed any; else how it failed (not found, killed by the timeout).
    const msg = err instanceof ToolError && err.stderr.trim() ? err.stderr.trim().replace(/^Error: /, '') : (err as Error).message;
    throw new BuildError(`kustomize build failed: ${msg.replaceAll(realRoot + '/', '').replaceAll(realRoot, '.')}`);
  } finally {
    await rm(overlay, { recursive: true, force: true });
  }
  return postBuild(output, spec, options);
}

let server: KustomizeServer | undefined;

/**
 * `kubectl kustomize overlay --load-restrictor LoadRestrictionsNone`, in the resident
 * tide-kustomize when it is built here (the same kustomize library, without starting kubectl for
 * each build: about 95 ms of CPU each), else kubectl itself. Paths were checked before, so
 * kustomize may load siblings (../base) inside the tree; tide-kustomize also refuses any read
 * outside it. kubectl's environment is empty so that it reads no kubeconfig, plugin or credential.
 */
async function kustomize(overlay: string, root: string, cwd: string, yaml: boolean): Promise<KustomizeOutput> {
  const bin = await kustomizeServerPath();
  if (bin) {
    server ??= new KustomizeServer(bin);
    return server.build(overlay, root, { yaml });
  }
  const home = await mkdtemp(join(tmpdir(), 'tide-kustomize-'));
  try {
    const res = await runTool('kubectl', ['kustomize', overlay, '--load-restrictor', 'LoadRestrictionsNone'], {
      env: { HOME: home, PATH: '/usr/bin:/bin', KUSTOMIZE_PLUGIN_HOME: join(home, 'plugins') },
      cwd,
      timeoutMs: 120_000,
    });
    return parseOutput(res.stdout);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** kubectl's YAML stream as the server answers it: each object, and its own text. */
function parseOutput(output: string): KustomizeOutput {
  const out: Required<KustomizeOutput> = { objects: [], yaml: [] };
  for (const doc of parseAllDocuments(output)) {
    if (doc.errors.length) throw new BuildError(`kustomize output is not valid YAML: ${doc.errors[0]!.message}`);
    const obj = doc.toJS() as Record<string, unknown> | null;
    if (!obj) continue;
    out.objects.push(obj);
    out.yaml.push(output.slice(doc.range[0], doc.range[2]).replace(/^---\n/, ''));
  }
  return out;
}

async function writeOverlay(overlay: string, dir: string, spec: BuildSpec): Promise<void> {
  const existing = await findKustomizationFile(dir);
  let resources: string[];
  if (existing) {
    let k: unknown;
    try {
      k = parse(await readFile(existing, 'utf8'));
    } catch (err) {
      throw new BuildError(`${relative(dir, existing)} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    if (k !== null && (typeof k !== 'object' || Array.isArray(k))) throw new BuildError(`${relative(dir, existing)} is not a kustomization (a YAML map)`);
    resources = [relative(overlay, dir)];
  } else {
    // What Flux generates for a directory without kustomization.yaml.
    const found = await generatedResources(dir);
    if (found.length === 0) throw new BuildError('no Kubernetes manifests found at the path (and no kustomization.yaml)');
    resources = found.map((r) => relative(overlay, join(dir, r)));
  }
  const k: Record<string, unknown> = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources };
  if (spec.targetNamespace) k.namespace = spec.targetNamespace;
  if (spec.namePrefix) k.namePrefix = spec.namePrefix;
  if (spec.nameSuffix) k.nameSuffix = spec.nameSuffix;
  if (spec.patches?.length) k.patches = spec.patches;
  if (spec.images?.length) k.images = spec.images;
  // Flux's components are relative to the Kustomization's path.
  if (spec.components?.length) k.components = spec.components.map((c) => relative(overlay, resolve(dir, c)));
  await writeFile(join(overlay, 'kustomization.yaml'), stringify(k));
}

function postBuild(output: KustomizeOutput, spec: BuildSpec, options: BuildOptions): Unstructured[] {
  const objects: Unstructured[] = [];
  for (const [i, built] of output.objects.entries()) {
    let obj = built as unknown as Unstructured;
    const where = `${obj.kind} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name}`;
    if (options.vars && obj.metadata?.annotations?.[SUBSTITUTE_ANNOTATION] !== 'disabled') {
      // Substitute on the object's own text, as Flux does, so `replicas: ${n}` becomes a number.
      const text = output.yaml?.[i];
      if (text === undefined) throw new BuildError(`${where}: kustomize did not give the object's YAML for substitution`);
      const replaced = substitute(text, options.vars, { strict: options.strictSubstitution, where });
      if (replaced !== text) {
        try {
          obj = parse(replaced) as Unstructured;
        } catch (err) {
          throw new BuildError(`${where}: not valid YAML after variable substitution: ${(err as Error).message.split('\n')[0]}`);
        }
      }
    }
    if (spec.commonMetadata) {
      obj.metadata.labels = { ...obj.metadata.labels, ...spec.commonMetadata.labels };
      obj.metadata.annotations = { ...obj.metadata.annotations, ...spec.commonMetadata.annotations };
      if (Object.keys(obj.metadata.labels).length === 0) delete obj.metadata.labels;
      if (Object.keys(obj.metadata.annotations).length === 0) delete obj.metadata.annotations;
    }
    objects.push(obj);
  }
  return objects;
}
