import type { LocalInstall } from '../../local/install.ts';
import type { Outcome } from '../../reconcile/context.ts';
import type { KustomizationSpec } from '../../reconcile/kustomization.ts';
import { reconcilerFor } from '../../reconcile/all-reconcilers.ts';
import { awaitRequest, reconcileUnderLease } from '../../reconcile/under-lease.ts';
import type { ObjectRef } from '../../store/refs.ts';
import { parse } from '../args.ts';
import { objectRef } from '../resolve.ts';

/** `tide reconcile kustomization NAME [--with-source]` / `tide reconcile source git NAME`. */
export async function reconcile(install: LocalInstall, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { 'with-source': { type: 'boolean' } });
  const ref = await objectRef(install, positionals, values);
  const show = (what: string, o: { ready: boolean; message: string; revision?: string }) => {
    const [first, ...more] = o.message.split('\n');
    console.log(`${o.ready ? '✔' : '✗'} ${what}${o.revision ? ` @ ${o.revision}` : ''}: ${first}`);
    for (const l of more) console.log(`  ${l}`);
  };
  // Under the object's lease: with `tide local` running, its reconcile of the object runs once more for this request.
  const run = async (r: ObjectRef): Promise<Outcome> => {
    const res = await reconcileUnderLease(install.ctx, r, reconcilerFor(r.kind), { holder: `cli-${process.pid}` });
    if (res.ran) return res.outcome;
    console.log(`◎ ${res.holder} is reconciling ${r.kind} ${r.namespace}/${r.name}; waiting for it to run this request`);
    return awaitRequest(install.ctx, r);
  };
  if (ref.kind !== 'Kustomization') {
    const o = await run(ref);
    show(`${ref.kind} ${ref.namespace}/${ref.name}`, o);
    return o.ready ? 0 : 1;
  }
  if (values['with-source']) {
    const spec = (await install.ctx.store.objects.get(ref))!.value.spec as KustomizationSpec;
    const src = { cluster: ref.cluster, namespace: spec.sourceRef.namespace ?? ref.namespace, kind: spec.sourceRef.kind, name: spec.sourceRef.name };
    console.log(`► annotating ${src.kind} ${src.namespace}/${src.name}: fetching`);
    show(`${src.kind} ${src.namespace}/${src.name}`, await run(src));
  }
  console.log(`► reconciling Kustomization ${ref.namespace}/${ref.name} in cluster ${ref.cluster}`);
  const o = await run(ref);
  show(`Kustomization ${ref.namespace}/${ref.name}`, o);
  return o.ready ? 0 : 1;
}
