import type { LocalInstall } from '../../local/install.ts';
import { parse } from '../args.ts';
import { objectRef } from '../resolve.ts';

/** `tide suspend|resume kustomization NAME` (or `source git NAME`). */
export async function setSuspended(install: LocalInstall, args: string[], suspend: boolean): Promise<number> {
  const { values, positionals } = parse(args, {});
  const ref = await objectRef(install, positionals, values);
  const cur = (await install.ctx.store.objects.get(ref))!.value;
  await install.ctx.store.objects.put(ref, { ...cur, spec: { ...(cur.spec as object), suspend } });
  console.log(`${suspend ? '► suspended' : '► resumed'} ${ref.kind} ${ref.namespace}/${ref.name} in cluster ${ref.cluster}`);
  return 0;
}
