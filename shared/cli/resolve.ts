import type { LocalInstall } from '../local/install.ts';
import type { ObjectRef } from '../store/refs.ts';
import { UsageError } from './args.ts';

/** The cluster a command means: --cluster, or the only one registered. */
export async function pickCluster(install: LocalInstall, flag: string | undefined): Promise<string> {
  const names = Object.keys(await install.clusters.list());
  if (flag) {
    if (!names.includes(flag)) throw new UsageError(`cluster ${flag} is not registered (registered: ${names.join(', ') || 'none'}); run tide bootstrap first`);
    return flag;
  }
  if (names.length === 1) return names[0]!;
  if (names.length === 0) throw new UsageError('no cluster is registered: run tide bootstrap --cluster NAME --url URL --context CTX');
  throw new UsageError(`several clusters are registered (${names.join(', ')}): say which with --cluster`);
}

/** The clusters a listing covers: --cluster, or all. */
export async function listClusters(install: LocalInstall, flag: string | undefined): Promise<string[]> {
  return flag ? [await pickCluster(install, flag)] : Object.keys(await install.clusters.list()).sort();
}

const KINDS: Record<string, string> = { kustomization: 'Kustomization', ks: 'Kustomization', git: 'GitRepository', gitrepository: 'GitRepository' };

/** `kustomization NAME` or `source git NAME` to a ref. */
export async function objectRef(install: LocalInstall, words: string[], values: { cluster?: string; namespace?: string }): Promise<ObjectRef> {
  let [what, name] = words;
  if (what === 'source') [, what, name] = words;
  const kind = KINDS[what ?? ''];
  if (!kind || !name) throw new UsageError('name the object: kustomization NAME, or source git NAME');
  const cluster = await pickCluster(install, values.cluster);
  const ref = { cluster, namespace: values.namespace ?? 'flux-system', kind, name };
  if (!(await install.ctx.store.objects.get(ref))) throw new UsageError(`${kind} ${ref.namespace}/${name} is not registered in cluster ${cluster}`);
  return ref;
}
