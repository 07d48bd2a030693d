import type { StateStore } from '../store/state-store.ts';
import type { ObjectRef } from '../store/refs.ts';
import { UsageError } from './args.ts';

/** What reading commands need of an install: its store and its registered clusters (a LocalInstall, or the state bucket on AWS). */
export interface Fleet {
  readonly ctx: { readonly store: StateStore };
  readonly clusters: { list(): Promise<Record<string, unknown>> };
}

/** The cluster a command means: --cluster, or the only one registered. */
export async function pickCluster(install: Fleet, flag: string | undefined): Promise<string> {
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
export async function listClusters(install: Fleet, flag: string | undefined): Promise<string[]> {
  return flag ? [await pickCluster(install, flag)] : Object.keys(await install.clusters.list()).sort();
}

const KINDS: Record<string, string> = {
  kustomization: 'Kustomization', ks: 'Kustomization', git: 'GitRepository', gitrepository: 'GitRepository', bucket: 'Bucket', receiver: 'Receiver',
};

/** `kustomization NAME` or `source git NAME` to a ref. */
export async function objectRef(install: Fleet, words: string[], values: { cluster?: string; namespace?: string }): Promise<ObjectRef> {
  let [what, name] = words;
  if (what === 'source') [, what, name] = words;
  const kind = KINDS[what ?? ''];
  if (!kind || !name) throw new UsageError('name the object: kustomization NAME, source git NAME, source bucket NAME or receiver NAME');
  const cluster = await pickCluster(install, values.cluster);
  const ref = { cluster, namespace: values.namespace ?? 'flux-system', kind, name };
  if (!(await install.ctx.store.objects.get(ref))) throw new UsageError(`${kind} ${ref.namespace}/${name} is not registered in cluster ${cluster}`);
  return ref;
}
