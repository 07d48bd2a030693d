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
  /**
   * With `hostCertificate`: the CA's public key (`ssh-ed25519 AAAA...`) that signed sshd's host
   * certificate, for `@cert-authority` lines. Undefined otherwise.
   */
  readonly certAuthority: string | undefined;
  /**
   * What sshd has done so far, read from its log once every connection it logged has ended and the
   * log is still (waits at most 5 s): TCP connections accepted, commands run (exec sessions), and
   * connections still open if the wait ran out.
   */
  activity(): Promise<SshActivity>;
  readonly daemon: Daemon;
  stop(): Promise<void>;
}

export interface SshActivity {
  connections: number;
  commands: number;
  /** Connections not ended yet when the wait ran out (0 when all ended). */
  open: number;
}

export interface SshGitOptions {
  /**
   * Also give sshd a host certificate (ssh-keygen -s ... -h) for 127.0.0.1, signed by a fresh CA
   * and valid from 5 minutes ago for an hour. sshd still offers the plain host key to clients that
   * ask for it.
   */
  hostCertificate?: boolean;
}

const SSHD = '/usr/sbin/sshd';

export async function startSshGit(reposRoot: string, options: SshGitOptions = {}): Promise<SshGit> {
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
  let certAuthority: string | undefined;
  if (options.hostCertificate) {
    await keygen(join(dir, 'host_ca'));
    await run('ssh-keygen', ['-q', '-s', join(dir, 'host_ca'), '-I', 'tide-rig-host', '-h', '-n', '127.0.0.1', '-V', '-5m:+1h', join(dir, 'host_ed25519.pub')]);
    certAuthority = (await readFile(join(dir, 'host_ca.pub'), 'utf8')).trim().split(' ').slice(0, 2).join(' ');
  }
  const knownHosts = `[127.0.0.1]:${port} ${hostPub}`;
  await writeFile(join(dir, 'known_hosts'), knownHosts + '\n');
  await writeFile(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_ed25519')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'PubkeyAuthentication yes', 'PasswordAuthentication no',
      'KbdInteractiveAuthentication no', 'PermitRootLogin prohibit-password', 'UsePAM no', 'StrictModes no',
      `AllowUsers ${user}`, `PidFile ${join(dir, 'sshd.pid')}`, 'LogLevel VERBOSE',
      ...(certAuthority ? [`HostCertificate ${join(dir, 'host_ed25519-cert.pub')}`] : []),
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
    certAuthority,
    activity: () => activity(daemon),
    daemon,
    async stop() {
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Connections and commands in sshd's log (LogLevel VERBOSE), once no connection is open (sshd has
 * no per-connection child process left) and the log has stopped growing.
 */
async function activity(daemon: Daemon): Promise<SshActivity> {
  const deadline = Date.now() + 5_000;
  let last = '';
  for (;;) {
    const text = await readFile(daemon.logFile, 'utf8').catch(() => '');
    const ports = [...text.matchAll(/^Connection from \S+ port (\d+) on /gm)].map((m) => m[1]!);
    const open = await openConnections(daemon.pid, text, ports);
    if ((text === last && open === 0) || Date.now() > deadline) {
      return { connections: ports.length, commands: [...text.matchAll(/^Starting session: /gm)].length, open };
    }
    last = text;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** sshd's children (one per connection) on Linux; elsewhere, connections whose end is not logged. */
async function openConnections(pid: number, log: string, ports: string[]): Promise<number> {
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => undefined);
  if (children !== undefined) return children.trim().split(/\s+/).filter(Boolean).length;
  const ended = (port: string) => new RegExp(`^(?:Connection closed by|Connection reset by|Disconnected from|Received disconnect from|Unable to negotiate with|Closing connection to)\\b.*\\bport ${port}\\b`, 'm').test(log);
  return ports.filter((p) => !ended(p)).length;
}

function banner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.setTimeout(1000, () => (s.destroy(), resolve(false)));
    s.once('data', (d) => (s.destroy(), resolve(d.toString().startsWith('SSH-2.0'))));
    s.once('error', () => resolve(false));
  });
}
