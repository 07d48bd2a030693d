import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startDaemon, type Daemon } from './daemon.ts';

const run = promisify(execFile);

/** sshd on loopback serving the Git server's repositories to one deploy key, through git-shell. */
export interface SshGit {
  readonly port: number;
  readonly user: string;
  /** The deploy key (OpenSSH private key PEM) and its public half. */
  readonly deployKey: string;
  readonly deployKeyPub: string;
  /** A known_hosts line for this server, as a GitRepository secret's `known_hosts` holds it. */
  readonly knownHosts: string;
  /** Path of the deploy key on disk, for git commands run by tests. */
  readonly deployKeyPath: string;
  readonly knownHostsPath: string;
  /** `ssh://<user>@127.0.0.1:<port><root>/<repo>.git` */
  url(repo: string): string;
  /** GIT_SSH_COMMAND for the real git client using the deploy key and strict host checking. */
  sshCommand(keyPath?: string): string;
  readonly daemon: Daemon;
  stop(): Promise<void>;
}

const SSHD = '/usr/sbin/sshd';

export async function startSshGit(reposRoot: string): Promise<SshGit> {
  const dir = await mkdtemp(join(tmpdir(), 'tide-sshd-'));
  const port = await freePort();
  const user = userInfo().username;
  const keygen = (file: string) => run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tide-rig', '-f', file]);
  try {
    await keygen(join(dir, 'host_ed25519'));
    await keygen(join(dir, 'deploy_ed25519'));
  } catch (err) {
    throw new Error(`rig: ssh-keygen failed (${(err as Error).message}); install openssh-client and retry`);
  }
  const deployKeyPub = (await readFile(join(dir, 'deploy_ed25519.pub'), 'utf8')).trim();
  const hostPub = (await readFile(join(dir, 'host_ed25519.pub'), 'utf8')).trim().split(' ').slice(0, 2).join(' ');
  // Only git commands, nothing else: no pty, no forwarding.
  await writeFile(join(dir, 'authorized_keys'), `restrict,command="/usr/bin/git-shell -c \\"$SSH_ORIGINAL_COMMAND\\"" ${deployKeyPub}\n`, { mode: 0o600 });
  const knownHosts = `[127.0.0.1]:${port} ${hostPub}`;
  await writeFile(join(dir, 'known_hosts'), knownHosts + '\n');
  await writeFile(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_ed25519')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'PubkeyAuthentication yes', 'PasswordAuthentication no',
      'KbdInteractiveAuthentication no', 'PermitRootLogin prohibit-password', 'UsePAM no', 'StrictModes no',
      `AllowUsers ${user}`, `PidFile ${join(dir, 'sshd.pid')}`, 'LogLevel VERBOSE',
    ].join('\n') + '\n',
  );
  await mkdir('/run/sshd', { recursive: true }).catch(() => undefined); // privilege separation directory
  const daemon = await startDaemon({
    name: 'sshd',
    command: SSHD,
    args: ['-D', '-e', '-f', join(dir, 'sshd_config')],
    logFile: join(dir, 'sshd.log'),
    ready: () => banner(port),
    timeoutMs: 15_000,
    hint: `apt-get install openssh-server, then ${SSHD} -D -e -f ${join(dir, 'sshd_config')}`,
  });
  const deployKeyPath = join(dir, 'deploy_ed25519');
  const knownHostsPath = join(dir, 'known_hosts');
  return {
    port,
    user,
    deployKey: await readFile(deployKeyPath, 'utf8'),
    deployKeyPub,
    knownHosts,
    deployKeyPath,
    knownHostsPath,
    url: (repo) => `ssh://${user}@127.0.0.1:${port}${reposRoot}/${repo}.git`,
    sshCommand: (keyPath = deployKeyPath) =>
      `ssh -i ${keyPath} -o IdentitiesOnly=yes -o UserKnownHostsFile=${knownHostsPath} -o StrictHostKeyChecking=yes -o BatchMode=yes`,
    daemon,
    async stop() {
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function banner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.setTimeout(1000, () => (s.destroy(), resolve(false)));
    s.once('data', (d) => (s.destroy(), resolve(d.toString().startsWith('SSH-2.0'))));
    s.once('error', () => resolve(false));
  });
}
