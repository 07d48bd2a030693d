import { DetailType } from '../../events/event.ts';
import { readEvents, type LocalInstall } from '../../local/install.ts';
import { parse } from '../args.ts';
import { table } from '../table.ts';

/**
 * `tide events [--cluster C] [--all]`: what local mode published, newest last. Outcomes only, as
 * `flux events` shows them; `--all` adds the requests passed between the parts of Tide.
 */
export async function events(install: LocalInstall, args: string[]): Promise<number> {
  const { values } = parse(args, { all: { type: 'boolean' } });
  const rows = (await readEvents(install))
    .filter((e) => !values.cluster || e.cluster === values.cluster)
    .filter((e) => values.all || e.detailType !== DetailType.ReconcileRequested)
    .slice(-50)
    .map((e) => {
      const o = e.involvedObject as { kind: string; namespace: string; name: string };
      return [String(e.timestamp), String(e.cluster), String(e.severity), String(e.reason), `${o.kind}/${o.namespace}/${o.name}`, String(e.message).split('\n').join('; ').replace(':;', ':')];
    });
  console.log(table(['LAST SEEN', 'CLUSTER', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'], rows));
  return 0;
}
