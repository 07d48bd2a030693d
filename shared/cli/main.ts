import { openLocal, defaultStateDir } from '../local/install.ts';
import { UsageError } from './args.ts';
import { awsBootstrap } from './commands/aws-bootstrap.ts';
import { awsGet, awsReconcile } from './commands/aws-fleet.ts';
import { bootstrap } from './commands/bootstrap.ts';
import { build, diff, tree } from './commands/build.ts';
import { events } from './commands/events.ts';
import { get } from './commands/get.ts';
import { local } from './commands/local.ts';
import { reconcile } from './commands/reconcile.ts';
import { setSuspended } from './commands/suspend.ts';

const USAGE = `tide: keeps Kubernetes clusters equal to Git (local mode: a state directory, your kubeconfig contexts)

  tide bootstrap --cluster NAME --url URL [--branch main] [--path clusters/NAME] [--context CTX]
  tide local [--once]                      reconcile continuously, or one settled pass (exit 1 if not all Ready)
  tide get sources|kustomizations|receivers|all [--cluster NAME] [-n NAMESPACE]
  tide reconcile kustomization NAME [--with-source] | source git NAME
  tide suspend|resume kustomization NAME | source git NAME
  tide build kustomization NAME            print what the current revision renders to
  tide diff kustomization NAME             what applying it would change (server-side dry run)
  tide tree kustomization NAME             what it owns
  tide events [--cluster NAME] [--all]      outcomes; --all adds the requests between Tide's parts
  tide aws bootstrap --bucket B --cluster NAME --url URL (--eks-cluster NAME --role-arn ARN | --kubeconfig-secret ID)
                                           register a cluster with an install made by cdk deploy
  tide aws get sources|kustomizations|receivers|all --bucket B     status kept in the state bucket
  tide aws reconcile kustomization NAME --bucket B [--cluster C]   request a reconcile from the functions

Every command takes --state DIR (default $TIDE_STATE or ${defaultStateDir()}) and --cluster NAME.`;

const COMMANDS: Record<string, (install: ReturnType<typeof openLocal>, args: string[]) => Promise<number>> = {
  bootstrap,
  local,
  get,
  reconcile,
  suspend: (i, a) => setSuspended(i, a, true),
  resume: (i, a) => setSuspended(i, a, false),
  build,
  diff,
  tree,
  events,
};

/** `tide aws ...`: an install made by cdk deploy, through its state bucket and bus. */
const AWS_COMMANDS: Record<string, (args: string[]) => Promise<number>> = { bootstrap: awsBootstrap, get: awsGet, reconcile: awsReconcile };

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'aws') {
    const sub = AWS_COMMANDS[rest[0] ?? ''];
    if (!sub) {
      console.error(`tide: unknown command ${JSON.stringify(['aws', ...rest.slice(0, 1)].join(' '))}\n\n${USAGE}`);
      return 2;
    }
    try {
      return await sub(rest.slice(1));
    } catch (err) {
      console.error(`✗ ${(err as Error).message}`);
      return err instanceof UsageError ? 2 : 1;
    }
  }
  const fn = COMMANDS[command];
  if (!fn) {
    console.error(`tide: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    return 2;
  }
  const stateIndex = rest.indexOf('--state');
  const stateDir = stateIndex >= 0 ? rest[stateIndex + 1] : undefined;
  const install = openLocal(stateDir);
  try {
    return await fn(install, rest);
  } catch (err) {
    console.error(`✗ ${err instanceof UsageError ? err.message : (err as Error).message}`);
    return err instanceof UsageError ? 2 : 1;
  } finally {
    install.close();
  }
}
