import { readyCondition } from '../../reconcile/conditions.ts';
import { parse, UsageError } from '../args.ts';
import { listClusters, type Fleet } from '../resolve.ts';
import { table } from '../table.ts';

const GROUPS: Record<string, string[]> = {
  sources: ['GitRepository', 'Bucket'], source: ['GitRepository', 'Bucket'],
  kustomizations: ['Kustomization'], kustomization: ['Kustomization'], ks: ['Kustomization'],
  receivers: ['Receiver'], receiver: ['Receiver'],
  all: ['GitRepository', 'Bucket', 'Receiver', 'Kustomization'],
};

/** `tide get sources|kustomizations|receivers|all [--cluster C]`, in Flux's columns with the cluster first. */
export async function get(install: Fleet, args: string[], extraOptions: Parameters<typeof parse>[1] = {}): Promise<number> {
  const { values, positionals } = parse(args, extraOptions);
  const kinds = GROUPS[positionals[0] ?? ''];
  if (!kinds) throw new UsageError('usage: tide get sources|kustomizations|receivers|all [--cluster NAME]');
  const rows: string[][] = [];
  for (const cluster of await listClusters(install, values.cluster)) {
    for (const kind of kinds) {
      const listed = await install.ctx.store.objects.list(cluster, { kind });
      for (const item of listed.items) {
        if (values.namespace && item.ref.namespace !== values.namespace) continue;
        const st = (await install.ctx.store.status.get(item.ref).catch(() => undefined))?.value;
        const ready = readyCondition(st);
        const revision = kind === 'Kustomization' ? st?.lastAppliedRevision : (st?.artifact as { revision?: string } | undefined)?.revision;
        rows.push([cluster, item.ref.namespace, `${kind.toLowerCase()}/${item.ref.name}`, revision ?? '', String((item.value.spec as { suspend?: boolean })?.suspend === true ? 'True' : 'False'), ready?.status ?? 'Unknown', ready?.message ?? 'not reconciled yet']);
      }
      for (const e of listed.errors) rows.push([cluster, '', e.key, '', '', 'False', e.message]);
    }
  }
  console.log(table(['CLUSTER', 'NAMESPACE', 'NAME', 'REVISION', 'SUSPENDED', 'READY', 'MESSAGE'], rows));
  return 0;
}
