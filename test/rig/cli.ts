// npm run rig -- up | down | status
// `up` starts the whole rig for a person (a Kubernetes control plane, moto, a Git server over HTTP
// and SSH) in the background, writes .rig/env, and returns; `down` stops it.
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGitServer } from './git-server.ts';
import { startKube } from './kube.ts';
import { startMoto } from './moto.ts';
import { repoRoot } from './paths.ts';
import { startSshGit } from './ssh-git.ts';

const rigDir = join(repoRoot, '.rig');
const envFile = join(rigDir, 'env');
const pidFile = join(rigDir, 'pid');
const logFile = join(rigDir, 'rig.log');

async function runningPid(): Promise<number | undefined> {
  const pid = Number(await readFile(pidFile, 'utf8').catch(() => ''));
  if (!pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

async function up(): Promise<void> {
  if (await runningPid()) {
    console.log(`rig is already up; its settings are in ${envFile}:\n`);
    console.log(await readFile(envFile, 'utf8'));
    return;
  }
  await mkdir(rigDir, { recursive: true });
  await rm(envFile, { force: true });
  const log = openSync(logFile, 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'serve'], {
    detached: true,
    stdio: ['ignore', log, log],
    cwd: repoRoot,
  });
  child.unref();
  console.log('starting the rig (the first run builds kube-apiserver, etcd and kube-controller-manager: about 10 minutes)…');
  const started = Date.now();
  let exited = false;
  child.on('exit', () => (exited = true));
  for (;;) {
    const env = await readFile(envFile, 'utf8').catch(() => undefined);
    if (env) {
      console.log(`rig up in ${((Date.now() - started) / 1000).toFixed(1)}s. Load it with: source .rig/env\n\n${env}`);
      process.exit(0);
    }
    if (exited) {
      console.error(`rig failed to start; its log (${logFile}):\n${await readFile(logFile, 'utf8')}`);
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function serve(): Promise<void> {
  await writeFile(pidFile, String(process.pid));
  const kube = await startKube({ name: 'tide-rig' });
  const moto = await startMoto();
  const git = await startGitServer();
  await git.createRepo('fleet');
  const ssh = await startSshGit(git.root);
  await copyFile(kube.kubeconfigPath, join(rigDir, 'kubeconfig'));
  await writeFile(join(rigDir, 'deploy_key'), ssh.deployKey, { mode: 0o600 });
  await writeFile(join(rigDir, 'known_hosts'), ssh.knownHosts + '\n');
  const env = [
    `export KUBECONFIG=${join(rigDir, 'kubeconfig')}`,
    `export AWS_ENDPOINT_URL=${moto.endpoint}`,
    `export AWS_REGION=${moto.region}`,
    `export AWS_ACCESS_KEY_ID=${moto.credentials.accessKeyId}`,
    `export AWS_SECRET_ACCESS_KEY=${moto.credentials.secretAccessKey}`,
    `export TIDE_GIT_URL=${git.url('fleet')}`,
    `export TIDE_GIT_USERNAME=${git.username}`,
    `export TIDE_GIT_PASSWORD=${git.password}`,
    `export TIDE_GIT_SSH_URL=${ssh.url('fleet')}`,
    `export TIDE_GIT_SSH_KEY=${join(rigDir, 'deploy_key')}`,
    `export TIDE_GIT_KNOWN_HOSTS=${join(rigDir, 'known_hosts')}`,
  ].join('\n');
  await writeFile(envFile, env + '\n');
  console.log(`rig up:\n${env}`);
  const shutdown = async () => {
    await rm(envFile, { force: true });
    await ssh.stop();
    await git.stop();
    await moto.stop();
    await kube.stop();
    await rm(pidFile, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  setInterval(() => undefined, 1 << 30); // stay up until told
}

async function down(): Promise<void> {
  const pid = await runningPid();
  if (!pid) {
    console.log('rig is not running');
    await rm(envFile, { force: true });
    return;
  }
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && (await runningPid()); i++) await new Promise((r) => setTimeout(r, 200));
  if (await runningPid()) {
    process.kill(pid, 'SIGKILL');
    console.log(`rig (pid ${pid}) did not stop in 20s and was killed`);
  } else {
    console.log('rig stopped');
  }
  await rm(pidFile, { force: true });
}

async function status(): Promise<void> {
  const pid = await runningPid();
  console.log(pid ? `rig is up (pid ${pid}):\n${await readFile(envFile, 'utf8').catch(() => '(starting)')}` : 'rig is not running');
}

const commands: Record<string, () => Promise<void>> = { up, down, status, serve };
const cmd = process.argv[2] ?? 'status';
const fn = commands[cmd];
if (!fn) {
  console.error(`usage: npm run rig -- up | down | status   (not ${JSON.stringify(cmd)})`);
  process.exit(2);
}
fn().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
