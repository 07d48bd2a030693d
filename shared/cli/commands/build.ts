import { stringify } from 'yaml';
import { applyAll } from '../../apply/apply.ts';
import { parseInventoryId } from '../../apply/object.ts';
import type { LocalInstall } from '../../local/install.ts';
import { isControlObject } from '../../reconcile/control-objects.ts';
import type { KustomizationSpec } from '../../reconcile/kustomization.ts';
import { renderKustomization } from '../../reconcile/render-kustomization.ts';
import { parse } from '../args.ts';
import { objectRef } from '../resolve.ts';
import { table } from '../table.ts';

async function rendered(install: LocalInstall, args: string[]) {
  const { values, positionals } = parse(args, {});
  const ref = await objectRef(install, ['kustomization', ...positionals.slice(positionals[0] === 'kustomization' ? 1 : 0)], values);
  const spec = (await install.ctx.store.objects.get(ref))!.value.spec as KustomizationSpec;
  return { ref, ...(await renderKustomization(install.ctx, ref, spec)) };
}

/** `tide build kustomization NAME`: the YAML the current artifact renders to, as it would be applied. */
export async function build(install: LocalInstall, args: string[]): Promise<number> {
  const { objects } = await rendered(install, args);
  console.log(objects.map((o) => stringify(o)).join('---\n').trimEnd());
  return 0;
}

/** `tide diff kustomization NAME`: what applying the current artifact would change (a server-side dry run). */
export async function diff(install: LocalInstall, args: string[]): Promise<number> {
  const { ref, revision, objects } = await rendered(install, args);
  const cluster = await install.ctx.cluster(ref.cluster);
  const previous = (await install.ctx.store.inventory.get(ref).catch(() => undefined))?.value.entries.filter((e) => !e.control) ?? [];
  const ownerLabels = { 'kustomize.toolkit.fluxcd.io/name': ref.name, 'kustomize.toolkit.fluxcd.io/namespace': ref.namespace };
  const result = await applyAll(cluster, objects.filter((o) => !isControlObject(o)), { ownerLabels, previous, dryRun: true });
  const changed = result.changeSet.filter((e) => e.action !== 'unchanged');
  console.log(`► ${ref.cluster}/${ref.namespace}/Kustomization/${ref.name} at ${revision}: ${changed.length} of ${result.changeSet.length} object(s) would change`);
  for (const e of changed) {
    console.log(`${e.action === 'failed' ? '✗' : '►'} ${e.subject} ${e.action}${e.drifted ? ' (drifted)' : ''}${e.reason ? `: ${e.reason}` : ''}`);
    for (const f of e.fields ?? []) console.log(`    ${f.path}: ${JSON.stringify(f.before)} -> ${JSON.stringify(f.after)}`);
  }
  return changed.some((e) => e.action === 'failed') ? 1 : 0;
}

/** `tide tree kustomization NAME`: what it owns, by its inventory. */
export async function tree(install: LocalInstall, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {});
  const ref = await objectRef(install, positionals, values);
  const inv = (await install.ctx.store.inventory.get(ref).catch(() => undefined))?.value;
  console.log(`Kustomization/${ref.namespace}/${ref.name} (cluster ${ref.cluster}${inv?.revision ? `, ${inv.revision}` : ''})`);
  const rows = (inv?.entries ?? []).map((e) => {
    const r = parseInventoryId(e.id, e.v);
    return [e === inv!.entries[inv!.entries.length - 1] ? '└──' : '├──', `${r.kind}/${r.namespace ? `${r.namespace}/` : ''}${r.name}`, e.control ? '(registered in Tide)' : ''];
  });
  if (rows.length) console.log(table(['', '', ''], rows).split('\n').slice(1).join('\n'));
  return 0;
}
