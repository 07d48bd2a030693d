import type { LocalInstall } from '../../local/install.ts';
import { reconcileGitRepository } from '../../reconcile/git-repository.ts';
import { reconcileKustomization, type KustomizationSpec } from '../../reconcile/kustomization.ts';
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
  if (ref.kind === 'GitRepository') {
    const o = await reconcileGitRepository(install.ctx, ref);
    show(`GitRepository ${ref.namespace}/${ref.name}`, o);
    return o.ready ? 0 : 1;
  }
  if (values['with-source']) {
    const spec = (await install.ctx.store.objects.get(ref))!.value.spec as KustomizationSpec;
    const src = { cluster: ref.cluster, namespace: spec.sourceRef.namespace ?? ref.namespace, kind: spec.sourceRef.kind, name: spec.sourceRef.name };
    console.log(`► annotating ${src.kind} ${src.namespace}/${src.name}: fetching`);
    show(`${src.kind} ${src.namespace}/${src.name}`, await reconcileGitRepository(install.ctx, src));
  }
  console.log(`► reconciling Kustomization ${ref.namespace}/${ref.name} in cluster ${ref.cluster}`);
  const o = await reconcileKustomization(install.ctx, ref);
  show(`Kustomization ${ref.namespace}/${ref.name}`, o);
  return o.ready ? 0 : 1;
}
