import { appendFileSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DetailType, MemoryEventBus, type DeliveredEvent } from '../events/index.ts';
import { Logger } from '../log.ts';
import type { ReconcileContext } from '../reconcile/context.ts';
import { ClusterSecrets, DirectorySecrets, SecretChain } from '../secrets/secrets.ts';
import { DirectoryBlobStore } from '../store/dir-blob-store.ts';
import { DirectoryRecordCache } from '../store/dir-record-cache.ts';
import { StateStore } from '../store/state-store.ts';
import { ClusterRegistry } from './clusters.ts';
import { LocalRunner } from './runner.ts';

/** Where local mode keeps its state: --state, else $TIDE_STATE, else ~/.local/state/tide. */
export function defaultStateDir(): string {
  return process.env.TIDE_STATE ?? join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'tide');
}

/** Everything `tide local` runs on: a directory store, an in-process bus, the user's kubeconfig contexts. */
export interface LocalInstall {
  readonly stateDir: string;
  readonly ctx: ReconcileContext;
  readonly bus: MemoryEventBus;
  readonly clusters: ClusterRegistry;
  readonly runner: LocalRunner;
  readonly eventsFile: string;
  close(): void;
}

export function openLocal(stateDir = defaultStateDir()): LocalInstall {
  mkdirSync(stateDir, { recursive: true });
  const eventsFile = join(stateDir, 'events.jsonl');
  const logFile = join(stateDir, 'tide.log');
  const log = new Logger({ service: 'tide-local', write: (line) => appendFileSync(logFile, line + '\n') });
  const bus = new MemoryEventBus((err, e) => log.error(`event subscriber failed: ${(err as Error).message}`, { detailType: e.detailType }));
  // Local mode keeps what EventBridge would carry, for `tide events`.
  bus.subscribe({}, (e: DeliveredEvent) => appendFileSync(eventsFile, JSON.stringify({ detailType: e.detailType, ...e.detail }) + '\n'));
  const clusters = new ClusterRegistry(stateDir);
  const blobs = new DirectoryBlobStore(join(stateDir, 'store'));
  const store = new StateStore(blobs);
  const cluster = (name: string) => clusters.connect(name);
  const ctx: ReconcileContext = {
    store,
    bus,
    cluster,
    secrets: new SecretChain([new DirectorySecrets(join(stateDir, 'secrets')), new ClusterSecrets(cluster)]),
    log,
  };
  const runner = new LocalRunner(ctx, async () => Object.keys(await clusters.list()).sort(), undefined, (handler) =>
    bus.subscribe({ detailType: [DetailType.SourceUpdated] }, (e) => {
      const o = e.detail.involvedObject;
      handler({ cluster: e.detail.cluster, namespace: o.namespace, kind: o.kind, name: o.name });
    }),
    // Every tick lists every object: read only the record files that changed since the last tick.
    new DirectoryRecordCache(blobs.root, store.objects),
  );
  // A request on the bus (an object a Kustomization just registered) makes it due at once.
  bus.subscribe({ detailType: [DetailType.ReconcileRequested] }, (e) => {
    const o = e.detail.involvedObject;
    runner.request({ cluster: e.detail.cluster, namespace: o.namespace, kind: o.kind, name: o.name });
  });
  return { stateDir, ctx, bus, clusters, runner, eventsFile, close: () => clusters.close() };
}

/** The events local mode recorded, oldest first. */
export async function readEvents(install: LocalInstall): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(install.eventsFile, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}
