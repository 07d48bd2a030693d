import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalInstall } from '../../local/install.ts';
import { registerBootstrap } from '../../reconcile/bootstrap-objects.ts';
import { parse, UsageError } from '../args.ts';
import { printResults } from './local.ts';

/**
 * `tide bootstrap --cluster NAME --url URL [--branch main] [--path clusters/NAME] --context CTX`:
 * registers the cluster and its flux-system GitRepository and Kustomization, as
 * `flux bootstrap git --path` would commit them, then reconciles once.
 */
export async function bootstrap(install: LocalInstall, args: string[]): Promise<number> {
  const { values } = parse(args, {
    url: { type: 'string' }, branch: { type: 'string' }, path: { type: 'string' }, context: { type: 'string' },
    kubeconfig: { type: 'string' }, interval: { type: 'string' }, username: { type: 'string' }, password: { type: 'string' },
    label: { type: 'string', multiple: true }, 'no-wait': { type: 'boolean' },
    'private-key-file': { type: 'string' }, 'known-hosts-file': { type: 'string' },
  });
  if (!values.cluster || !values.url) {
    throw new UsageError('usage: tide bootstrap --cluster NAME --url URL [--branch main] [--path clusters/NAME] [--context CTX] [--username U --password P | --private-key-file F --known-hosts-file F]');
  }
  const cluster = values.cluster;
  const path = values.path ?? `clusters/${cluster}`;
  const labels = Object.fromEntries(((values.label ?? []) as string[]).map((l) => l.split('=', 2) as [string, string]));
  await install.clusters.register(cluster, { labels, path, ...(values.context ? { context: values.context } : {}), ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}) });
  const ns = 'flux-system';
  // The flux-system secret, with Flux's keys: username/password for HTTPS, identity and
  // known_hosts (and password as the key's passphrase) for SSH.
  const secret: Record<string, string> = {};
  if (values.username || values.password) Object.assign(secret, { username: values.username ?? 'git', password: values.password ?? '' });
  if (values['private-key-file']) secret.identity = await readFile(values['private-key-file'], 'utf8');
  if (values['known-hosts-file']) secret.known_hosts = await readFile(values['known-hosts-file'], 'utf8');
  const hasSecret = Object.keys(secret).length > 0;
  if (hasSecret) {
    const dir = join(install.stateDir, 'secrets', cluster, ns);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'flux-system.json'), JSON.stringify(secret), { mode: 0o600 });
  }
  await registerBootstrap(install.ctx.store, cluster, { url: values.url, branch: values.branch, path, interval: values.interval, withSecret: hasSecret });
  console.log(`► cluster ${cluster} registered (${values.context ? `context ${values.context}` : 'current kubeconfig context'}), bootstrap path ./${path}`);
  if (values['no-wait']) return 0;
  console.log('◎ reconciling');
  const results = await install.runner.once(10, (r) => console.log(`  ${r.outcome.ready ? '✔' : '✗'} ${r.ref.cluster}/${r.ref.namespace}/${r.ref.kind}/${r.ref.name}: ${r.outcome.message.split('\n')[0]}`));
  return printResults(results);
}
