import type { LocalInstall } from '../../local/install.ts';
import type { PassResult } from '../../local/runner.ts';
import { kustomizeServerPath } from '../../tools/binaries.ts';
import { parse } from '../args.ts';

/** `tide local [--once]`: reconciles every registered cluster continuously, or one settled pass. */
export async function local(install: LocalInstall, args: string[]): Promise<number> {
  const { values } = parse(args, { once: { type: 'boolean' }, interval: { type: 'string' } });
  const line = (r: PassResult) =>
    `${new Date().toISOString()} ${r.outcome.ready ? '✔' : '✗'} ${r.ref.cluster}/${r.ref.namespace}/${r.ref.kind}/${r.ref.name}${r.outcome.revision ? ` @ ${r.outcome.revision}` : ''}: ${r.outcome.message.split('\n')[0]}`;
  if (Object.keys(await install.clusters.list()).length === 0) {
    console.log(`no cluster is registered in ${install.stateDir}: run tide bootstrap --cluster NAME --url URL --context CTX first`);
    if (values.once) return 0;
  }
  if (!(await kustomizeServerPath())) {
    console.log('tide local: building with kubectl kustomize, about 95 ms of CPU a build; tools/kustomize-server/build.sh (needs Go) builds tide-kustomize, which Tide then uses');
  }
  if (values.once) return printResults(await install.runner.once(10, (r) => console.log(line(r))));
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  console.log(`tide local: reconciling ${Object.keys(await install.clusters.list()).join(', ') || 'no cluster yet'} (state in ${install.stateDir}); Ctrl-C stops`);
  const last = new Map<string, string>();
  await install.runner.run(controller.signal, (r) => {
    const key = `${r.ref.cluster}/${r.ref.namespace}/${r.ref.kind}/${r.ref.name}`;
    const summary = `${r.outcome.ready}/${r.outcome.message}`;
    if (last.get(key) !== summary) console.log(line(r)); // print on change only
    last.set(key, summary);
  });
  return 0;
}

/** Prints a settled pass; non-zero when anything is not Ready. */
export function printResults(results: Map<string, PassResult>): number {
  const notReady = [...results.values()].filter((r) => !r.outcome.ready);
  if (notReady.length === 0) {
    console.log(`✔ all ${results.size} object(s) Ready`);
    return 0;
  }
  console.log(`✗ ${notReady.length} of ${results.size} object(s) not Ready:`);
  for (const r of notReady) console.log(`  ${r.ref.cluster}/${r.ref.namespace}/${r.ref.kind}/${r.ref.name}: ${r.outcome.message}`);
  return 1;
}
