import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Cluster } from '../kube/cluster.ts';
import { clusterFromKubeconfigFile } from '../kube/kubeconfig.ts';
import { checkCluster } from '../store/refs.ts';

/** How local mode reaches a registered cluster: a kubeconfig context. */
export interface ClusterEntry {
  labels?: Record<string, string>;
  /** Kubeconfig file; default $KUBECONFIG or ~/.kube/config. */
  kubeconfig?: string;
  /** Context in it; default its current context. */
  context?: string;
  /** The fleet repo path it bootstraps from, like `flux bootstrap --path`. */
  path?: string;
}

/** The fleet of a local install: `<state>/clusters.json`. */
export class ClusterRegistry {
  private readonly file: string;
  private readonly connected = new Map<string, Cluster>();

  constructor(stateDir: string) {
    this.file = join(stateDir, 'clusters.json');
  }

  async list(): Promise<Record<string, ClusterEntry>> {
    try {
      return (JSON.parse(await readFile(this.file, 'utf8')) as { clusters: Record<string, ClusterEntry> }).clusters ?? {};
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new Error(`${this.file} is not valid: ${(err as Error).message}; fix or remove it`);
    }
  }

  async register(name: string, entry: ClusterEntry): Promise<void> {
    checkCluster(name);
    const all = await this.list();
    all[name] = entry;
    await mkdir(dirname(this.file), { recursive: true });
    await writeFile(`${this.file}.tmp`, JSON.stringify({ clusters: all }, null, 2) + '\n');
    await rename(`${this.file}.tmp`, this.file);
    this.connected.delete(name);
  }

  /** A connection to the cluster, made once. */
  async connect(name: string): Promise<Cluster> {
    const existing = this.connected.get(name);
    if (existing) return existing;
    const entry = (await this.list())[name];
    if (!entry) throw new Error(`cluster ${name} is not registered: run tide bootstrap --cluster ${name} --context <kubeconfig context> ...`);
    const file = entry.kubeconfig ?? process.env.KUBECONFIG?.split(':')[0] ?? join(homedir(), '.kube', 'config');
    const cluster = clusterFromKubeconfigFile(name, file, entry.context);
    this.connected.set(name, cluster);
    return cluster;
  }

  close(): void {
    for (const c of this.connected.values()) c.client.close();
    this.connected.clear();
  }
}
