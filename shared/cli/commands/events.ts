import { readEvents, type LocalInstall } from '../../local/install.ts';
import { parse } from '../args.ts';
import { table } from '../table.ts';

/** `tide events [--cluster C]`: what local mode published, newest last. */
export async function events(install: LocalInstall, args: string[]): Promise<number> {
  const { values } = parse(args, {});
  const rows = (await readEvents(install))
    .filter((e) => !values.cluster || e.cluster === values.cluster)
    .slice(-50)
    .map((e) => {
      const o = e.involvedObject as { kind: string; namespace: string; name: string };
      return [String(e.timestamp), String(e.cluster), String(e.severity), String(e.reason), `${o.kind}/${o.namespace}/${o.name}`, String(e.message).split('\n').join('; ').replace(':;', ':')];
    });
  console.log(table(['LAST SEEN', 'CLUSTER', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'], rows));
  return 0;
}
