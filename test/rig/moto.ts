import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startDaemon, type Daemon } from './daemon.ts';
import { rigScript } from './paths.ts';

const run = promisify(execFile);

/** moto's server on loopback, and what an AWS SDK v3 client needs to reach it. */
export interface Moto {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** Settings for any AWS SDK v3 client: `new S3Client({ ...moto.clientConfig, forcePathStyle: true })`. */
  readonly clientConfig: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  readonly daemon: Daemon;
  stop(): Promise<void>;
}

/** Path of moto_server, installed into the cached venv on first use. */
export async function motoServerPath(): Promise<string> {
  const script = rigScript('install-moto.sh');
  try {
    const { stdout } = await run('bash', [script], { maxBuffer: 1 << 20 });
    return stdout.trim().split('\n').pop() ?? '';
  } catch (err) {
    throw new Error(`rig: moto could not be installed: ${(err as { stderr?: string }).stderr ?? err}\n  to retry: bash ${script}`);
  }
}

export async function startMoto(): Promise<Moto> {
  const bin = await motoServerPath();
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'tide-moto-'));
  const endpoint = `http://127.0.0.1:${port}`;
  const daemon = await startDaemon({
    name: 'moto_server',
    command: bin,
    args: ['-H', '127.0.0.1', '-p', String(port)],
    logFile: join(dir, 'moto.log'),
    env: { ...process.env, MOTO_ALLOW_NONEXISTENT_REGION: 'true' },
    ready: async () => (await fetch(`${endpoint}/moto-api/`)).ok,
    timeoutMs: 30_000,
    hint: `${bin} -H 127.0.0.1 -p ${port}`,
  });
  const region = 'us-east-1';
  // moto accepts any credentials; these are obviously not real ones.
  const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
  return {
    endpoint,
    region,
    credentials,
    clientConfig: { endpoint, region, credentials },
    daemon,
    stop: () => daemon.stop(),
  };
}
