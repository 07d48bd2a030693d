import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startDaemon, type Daemon } from './daemon.ts';
import { rigScript } from './paths.ts';

const run = promisify(execFile);

/** A running Kubernetes control plane on loopback: etcd, kube-apiserver and, unless off, kube-controller-manager. */
export interface Kube {
  readonly name: string;
  readonly server: string;
  /** Bearer token of a system:masters user. */
  readonly token: string;
  /** PEM of the CA that signed the apiserver's serving certificate. */
  readonly caPem: string;
  /** A kubeconfig file with one context named `name`. */
  readonly kubeconfigPath: string;
  readonly dir: string;
  readonly daemons: readonly Daemon[];
  /** A raw HTTPS call to the apiserver as the admin user; JSON in, JSON out. */
  api<T = unknown>(method: string, path: string, body?: unknown, contentType?: string): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export interface KubeOptions {
  /** The kubeconfig context and cluster name; default `rig-<n>`. */
  readonly name?: string;
  /** Run kube-controller-manager beside the apiserver (namespace deletion, GC, Deployments); default true. */
  readonly controllerManager?: boolean;
  /** Extra kube-apiserver flags, appended (e.g. `--authentication-token-webhook-config-file=...`). */
  readonly apiserverArgs?: readonly string[];
  /** Extra kube-controller-manager flags, appended (e.g. `--kube-api-qps=200`). */
  readonly controllerManagerArgs?: readonly string[];
}

let counter = 0;

/** Where the rig's Kubernetes binaries are, built on first use (test/rig/build-binaries.sh). */
export async function kubeBinaries(): Promise<string> {
  const script = rigScript('build-binaries.sh');
  try {
    const { stdout } = await run('bash', [script], { maxBuffer: 1 << 20, timeout: 45 * 60_000 });
    return stdout.trim().split('\n').pop() ?? '';
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`rig: building kube-apiserver/kube-controller-manager/etcd failed:\n${e.stderr ?? e.message}\n  to retry: bash ${script}`);
  }
}

export async function startKube(options: KubeOptions = {}): Promise<Kube> {
  const name = options.name ?? `rig-${process.pid}-${++counter}`;
  const bin = await kubeBinaries();
  const dir = await mkdtemp(join(tmpdir(), `tide-kube-${name}-`));
  const daemons: Daemon[] = [];
  const stopAll = async () => {
    for (const d of [...daemons].reverse()) await d.stop();
  };
  try {
    // Identities: a static admin token, and the key pair service-account tokens are signed with.
    const token = randomBytes(24).toString('hex');
    await writeFile(join(dir, 'tokens.csv'), `${token},tide-rig-admin,tide-rig-admin,"system:masters"\n`, { mode: 0o600 });
    const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(join(dir, 'sa.key'), sa.privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    await writeFile(join(dir, 'sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));
    await mkdir(join(dir, 'certs'));

    const [etcdClient, etcdPeer, apiPort, kcmPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    daemons.push(
      await startDaemon({
        name: `etcd (${name})`,
        command: join(bin, 'etcd'),
        args: [
          '--name', 'rig', '--data-dir', join(dir, 'etcd'),
          '--listen-client-urls', `http://127.0.0.1:${etcdClient}`, '--advertise-client-urls', `http://127.0.0.1:${etcdClient}`,
          '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
          '--initial-cluster', `rig=http://127.0.0.1:${etcdPeer}`,
          '--unsafe-no-fsync', '--log-level', 'warn',
        ],
        logFile: join(dir, 'etcd.log'),
        ready: async () => (await fetch(`http://127.0.0.1:${etcdClient}/health`)).ok,
        timeoutMs: 30_000,
        hint: `bash ${rigScript('build-binaries.sh')} and check ${join(dir, 'etcd.log')}`,
      }),
    );

    const server = `https://127.0.0.1:${apiPort}`;
    daemons.push(
      await startDaemon({
        name: `kube-apiserver (${name})`,
        command: join(bin, 'kube-apiserver'),
        args: [
          `--etcd-servers=http://127.0.0.1:${etcdClient}`,
          '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${apiPort}`,
          `--cert-dir=${join(dir, 'certs')}`,
          `--token-auth-file=${join(dir, 'tokens.csv')}`,
          '--authorization-mode=RBAC',
          '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
          `--service-account-key-file=${join(dir, 'sa.pub')}`,
          `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
          '--service-cluster-ip-range=10.96.0.0/16',
          '--allow-privileged=true',
          '--enable-priority-and-fairness=false',
          '--endpoint-reconciler-type=none',
          '--v=0',
          ...(options.apiserverArgs ?? []),
        ],
        logFile: join(dir, 'kube-apiserver.log'),
        ready: async () => (await httpsGet(`${server}/readyz`, token)) === 200,
        timeoutMs: 90_000,
        hint: `bash ${rigScript('build-binaries.sh')} and check ${join(dir, 'kube-apiserver.log')}`,
      }),
    );

    // The apiserver wrote its self-signed serving certificate followed by the CA that signed it.
    const caPem = await readFile(join(dir, 'certs', 'apiserver.crt'), 'utf8');
    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeconfig(name, server, caPem, token), { mode: 0o600 });

    if (options.controllerManager !== false) {
      daemons.push(
        await startDaemon({
          name: `kube-controller-manager (${name})`,
          command: join(bin, 'kube-controller-manager'),
          args: [
            `--kubeconfig=${kubeconfigPath}`,
            `--authentication-kubeconfig=${kubeconfigPath}`,
            `--authorization-kubeconfig=${kubeconfigPath}`,
            '--leader-elect=false',
            '--bind-address=127.0.0.1', `--secure-port=${kcmPort}`,
            `--cert-dir=${join(dir, 'kcm-certs')}`,
            `--service-account-private-key-file=${join(dir, 'sa.key')}`,
            `--root-ca-file=${join(dir, 'certs', 'apiserver.crt')}`,
            '--use-service-account-credentials=false',
            '--controllers=*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-service-lb-controller,-route,-persistentvolume-binder,-attachdetach,-persistentvolume-expander,-ttl,-bootstrapsigner,-tokencleaner',
            '--concurrent-gc-syncs=5',
            '--v=0',
            ...(options.controllerManagerArgs ?? []),
          ],
          logFile: join(dir, 'kube-controller-manager.log'),
          ready: async () => (await httpsGet(`https://127.0.0.1:${kcmPort}/healthz`)) === 200,
          timeoutMs: 60_000,
          hint: `check ${join(dir, 'kube-controller-manager.log')}`,
        }),
      );
    }

    const kube: Kube = {
      name,
      server,
      token,
      caPem,
      kubeconfigPath,
      dir,
      daemons,
      api: (method, path, body, contentType) => apiCall(server, token, method, path, body, contentType),
      async stop() {
        await stopAll();
        await rm(dir, { recursive: true, force: true });
      },
    };
    if (options.controllerManager !== false) {
      // Pods need the `default` ServiceAccount, which the controller manager creates.
      await waitFor(async () => (await kube.api('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200, 60_000,
        `rig: kube-controller-manager (${name}) did not create the default ServiceAccount; see ${join(dir, 'kube-controller-manager.log')}`);
    }
    return kube;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function kubeconfig(name: string, server: string, caPem: string, token: string): string {
  const ca = Buffer.from(caPem).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: ${name}
  cluster:
    server: ${server}
    certificate-authority-data: ${ca}
users:
- name: ${name}-admin
  user:
    token: ${token}
contexts:
- name: ${name}
  context:
    cluster: ${name}
    user: ${name}-admin
current-context: ${name}
`;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, message: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(message);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Status code of a GET to our own loopback server, whose certificate is not known yet. */
function httpsGet(url: string, token?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false, headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

function apiCall<T>(server: string, token: string, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = request(
      server + path,
      {
        method,
        rejectUnauthorized: false, // tests talk to their own loopback apiserver
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          // Explicit length: Node sends a DELETE body neither chunked nor sized otherwise.
          ...(payload ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) } : {}),
        },
      },
      async (res) => {
        let text = '';
        for await (const chunk of res) text += chunk;
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: res.statusCode ?? 0, body: parsed as T });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
