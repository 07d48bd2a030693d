import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig, ParsedKey, PublicKeyAuthMethod } from 'ssh2';
import { redactString } from '../../redact.ts';
import { GitSourceError } from './errors.ts';
import { blobType, describeCertAuthority, fingerprint, hostKeyAlgorithms, isRevoked, knownHostsName, type HostKeys } from './known-hosts.ts';

/** Where `git-upload-pack` runs: `user@host:port`, and the repository path as git sends it. */
export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
  path: string;
}

/** What an SSH connection needs, checked beforehand (openRemote): a parsed key and known host keys. */
export interface SshSettings {
  endpoint: SshEndpoint;
  /** The private key, parsed (and decrypted) once by openRemote. */
  key: ParsedKey;
  /** From known_hosts, for the host; `keys` without the @revoked ones. */
  hostKeys: HostKeys;
  /** For messages: `GitRepository ns/name`, the URL, and `secret ns/name`. */
  subject: string;
  url: string;
  secret: string;
  /** The SSH handshake, exec and ref advertisement together (default 30 s). */
  connectTimeoutMs?: number;
  /** Longest silence while the pack comes in (default 120 s). */
  idleTimeoutMs?: number;
}

const CONNECT_TIMEOUT_MS = 30_000;
const IDLE_TIMEOUT_MS = 120_000;
const CLOSE_WAIT_MS = 2_000;
const SERVICE = 'git-upload-pack';
const FLUSH = Buffer.from('0000');
/** What smart HTTP puts before the ref advertisement, and SSH does not. */
const HTTP_PREAMBLE = Buffer.from(`001e# service=${SERVICE}\n0000`);

/**
 * The URL handed to isomorphic-git for an SSH remote: it only speaks HTTP(S), so it gets a
 * placeholder and this module's `http` client, which ignores the host and talks SSH.
 */
export function placeholderUrl(endpoint: SshEndpoint): string {
  return `https://ssh.tide.invalid/${encodeURIComponent(`${endpoint.host}:${endpoint.port}`)}/${encodeURIComponent(endpoint.path)}`;
}

/**
 * An isomorphic-git `http` client that carries its smart-HTTP exchange over SSH (protocol v1,
 * like `git` does over ssh without GIT_PROTOCOL):
 * - GET .../info/refs?service=git-upload-pack connects, runs `git-upload-pack '<path>'` in an exec
 *   channel and answers with the ref advertisement the server prints first;
 * - POST .../git-upload-pack writes the request into that same channel (SSH is stateful, HTTP
 *   is not, but isomorphic-git sends wants, haves and `done` in one go, so the bytes are the
 *   same) and streams the channel's output back until the server ends.
 * A listing and the fetch after it share one connection: a GET while the connection's
 * advertisement is still unanswered (nothing posted yet) gets that same advertisement again, so
 * listRefs then git.fetch on one client is one SSH connection and one git-upload-pack, and the
 * pack is of the references as listed. close() the client afterwards: a listing alone is ended
 * with a flush-pkt, as `git ls-remote` does, so no pack is made.
 */
export class SshGitClient implements HttpClient {
  private session: Session | undefined;

  constructor(private readonly settings: SshSettings) {}

  request = async (req: GitHttpRequest): Promise<GitHttpResponse> => {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = req.url;
    if (method === 'GET' && url.endsWith(`/info/refs?service=${SERVICE}`)) {
      let advertisement = this.session?.unanswered();
      if (!advertisement) {
        await this.close();
        const session = await Session.open(this.settings);
        this.session = session;
        advertisement = await session.readAdvertisement();
      }
      return {
        url, method, statusCode: 200, statusMessage: 'OK',
        headers: { 'content-type': `application/x-${SERVICE}-advertisement` },
        body: once(Buffer.concat([HTTP_PREAMBLE, advertisement])),
      };
    }
    if (method === 'POST' && url.endsWith(`/${SERVICE}`) && this.session) {
      const session = this.session;
      await session.write(req.body);
      return {
        url, method, statusCode: 200, statusMessage: 'OK',
        headers: { 'content-type': `application/x-${SERVICE}-result` },
        body: session.output(),
      };
    }
    // Pushing (git-receive-pack) or anything else: not what a source fetch does.
    throw new GitSourceError('Unsupported', `${this.settings.subject}: ${method} ${url.replace(/^https:\/\/ssh\.tide\.invalid\/[^/]*/, '')} is not supported over SSH: only fetching is`);
  };

  /** Ends the connection: a flush-pkt first if no pack was asked for. Never throws. */
  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await session?.close();
  }
}

async function* once(chunk: Uint8Array): AsyncIterableIterator<Uint8Array> {
  yield chunk;
}

class Session {
  private readonly reader: AsyncIterator<Buffer>;
  private pending = Buffer.alloc(0);
  private stderr = '';
  private failure: Error | undefined;
  private advertisement: Buffer | undefined;
  private posted = false;
  private closed = false;
  private ended = false;

  private constructor(
    private readonly s: SshSettings,
    private readonly client: ssh2.Client,
    private readonly channel: ClientChannel,
  ) {
    this.reader = channel[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    channel.stderr.on('data', (d: Buffer) => {
      if (this.stderr.length < 8192) this.stderr += d.toString('utf8');
    });
    client.on('error', (err: Error) => {
      this.failure ??= err;
      channel.destroy();
    });
    client.on('close', () => {
      this.ended = true;
      channel.destroy();
    });
    channel.on('close', () => (this.ended = true));
  }

  /**
   * The advertisement already read, while the server still waits for wants on it (nothing posted,
   * the connection up); undefined otherwise.
   */
  unanswered(): Buffer | undefined {
    if (this.posted || this.closed || this.ended || this.failure || this.channel.destroyed) return undefined;
    return this.advertisement;
  }

  /** Connects, checks the host key, authenticates and runs git-upload-pack. */
  static async open(s: SshSettings): Promise<Session> {
    const { host, port, user, path } = s.endpoint;
    const timeoutMs = s.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    const client = new ssh2.Client();
    let offered: Buffer | undefined;
    let hostAccepted = false;
    const hostVerifier = (key: Buffer): boolean => {
      offered = key;
      const ok = !isRevoked(s.hostKeys, key) && s.hostKeys.keys.some((k) => k.blob.equals(key));
      hostAccepted ||= ok;
      return ok;
    };
    const publicKey: PublicKeyAuthMethod = { type: 'publickey', username: user, key: s.key };
    const config: ConnectConfig = {
      host, port, username: user,
      hostVerifier, readyTimeout: timeoutMs, keepaliveInterval: 15_000, keepaliveCountMax: 4,
      // The key only, already parsed: no 'none' probe, no agent, no second passphrase KDF.
      authHandler: [publicKey],
      algorithms: { serverHostKey: hostKeyAlgorithms(s.hostKeys.keys) as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
    };

    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        client.destroy();
        reject(new GitSourceError('FetchFailed', `${s.subject}: no answer from ${host}:${port} over SSH within ${Math.round(timeoutMs / 1000)} s: check spec.url and that the host is reachable on that port`));
      }, timeoutMs);
    });
    try {
      await Promise.race([
        deadline,
        new Promise<void>((resolve, reject) => {
          client.once('ready', () => resolve());
          client.once('error', (err: Error & { level?: string; code?: string }) => {
            client.destroy();
            reject(connectError(s, err, offered, hostAccepted));
          });
          client.connect(config);
        }),
      ]);
      const channel = await Promise.race([
        deadline,
        new Promise<ClientChannel>((resolve, reject) => {
          client.exec(`${SERVICE} ${shellQuote(path)}`, (err, ch) => (err ? reject(err) : resolve(ch)));
        }),
      ]).catch((err: unknown) => {
        client.destroy();
        if (err instanceof GitSourceError) throw err;
        throw new GitSourceError('FetchFailed', `${s.subject}: the server at ${host}:${port} would not run ${SERVICE} over SSH: ${redactString(String((err as Error).message ?? err))}`);
      });
      const session = new Session(s, client, channel);
      return session;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The pkt-lines the server prints first, up to and with the flush-pkt. */
  async readAdvertisement(): Promise<Buffer> {
    const timeoutMs = this.s.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    for (;;) {
      const end = advertisementEnd(this.pending);
      if (end === 'bad') {
        this.destroy();
        throw new GitSourceError('FetchFailed', `${this.s.subject}: ${this.s.url} did not answer as a Git server over SSH (${JSON.stringify(redactString(this.pending.subarray(0, 80).toString('utf8')))}): check spec.url`);
      }
      if (typeof end === 'number') {
        const ad = this.pending.subarray(0, end);
        this.pending = this.pending.subarray(end);
        const first = pktPayload(ad);
        if (first?.startsWith('ERR ')) {
          this.destroy();
          throw this.serverError(first.slice(4).trim());
        }
        this.advertisement = ad;
        return ad;
      }
      const chunk = await this.next(timeoutMs, 'the list of references');
      if (!chunk) {
        this.destroy();
        throw this.serverError(this.stderr.trim() || 'the connection closed');
      }
      this.pending = Buffer.concat([this.pending, chunk]);
    }
  }

  async write(body: GitHttpRequest['body']): Promise<void> {
    this.posted = true;
    for await (const chunk of (body ?? []) as AsyncIterable<Uint8Array>) {
      if (!this.channel.write(chunk)) await new Promise<void>((resolve) => this.channel.once('drain', resolve));
    }
  }

  /** What the server sends after the request, until it ends; the connection is closed then. */
  async *output(): AsyncIterableIterator<Uint8Array> {
    let sent = 0;
    try {
      if (this.pending.length > 0) {
        sent += this.pending.length;
        yield this.pending;
        this.pending = Buffer.alloc(0);
      }
      for (;;) {
        const chunk = await this.next(this.s.idleTimeoutMs ?? IDLE_TIMEOUT_MS, 'the pack');
        if (!chunk) break;
        sent += chunk.length;
        yield chunk;
      }
      if (sent === 0) throw this.serverError(this.stderr.trim() || 'the connection closed before the pack');
    } finally {
      await this.close();
    }
  }

  /** Ends the exec channel (with a flush-pkt if no request was sent) and the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const channel = this.channel;
    if (!this.posted && !channel.destroyed && channel.writable) {
      // As git ls-remote: a flush-pkt instead of wants, and upload-pack exits without a pack.
      try {
        channel.end(FLUSH);
        await this.drain(CLOSE_WAIT_MS);
      } catch {
        // Closing anyway.
      }
    }
    this.client.end();
  }

  /** Reads what is left until the server closes the channel, for at most `ms`. */
  private async drain(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
    try {
      for (;;) {
        const read = this.reader.next();
        const r = await Promise.race([read, timeout]);
        if (r === 'timeout') {
          read.catch(() => undefined);
          return;
        }
        if (r.done) return;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private destroy(): void {
    this.closed = true;
    this.channel.destroy();
    this.client.destroy();
  }

  /** The next chunk of the server's output, undefined at its end; fails after `timeoutMs` of silence. */
  private async next(timeoutMs: number, what: string): Promise<Buffer | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const read = this.reader.next();
    const silence = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new GitSourceError('FetchFailed', `${this.s.subject}: ${this.s.url} sent nothing for ${Math.round(timeoutMs / 1000)} s while sending ${what} over SSH: try again, and check the server`)), timeoutMs);
    });
    try {
      const r = await Promise.race([read, silence]);
      if (r.done) {
        if (this.failure) throw this.connectionLost(this.failure);
        return undefined;
      }
      return r.value;
    } catch (err) {
      read.catch(() => undefined);
      this.destroy();
      if (err instanceof GitSourceError) throw err;
      throw this.connectionLost(this.failure ?? (err as Error));
    } finally {
      clearTimeout(timer);
    }
  }

  private connectionLost(err: Error): GitSourceError {
    return new GitSourceError('FetchFailed', `${this.s.subject}: the SSH connection to ${this.s.url} failed: ${redactString(String(err.message ?? err))}: try again`);
  }

  /** What the server said (stderr or an ERR pkt-line) when it would not serve the repository. */
  private serverError(said: string): GitSourceError {
    const { subject, url, secret } = this.s;
    const text = redactString(said.replace(/\s+/g, ' ').slice(0, 500));
    if (/not found|does not appear to be a git repository|does not exist|no such (file|repo)/i.test(said)) {
      return new GitSourceError('FetchFailed', `${subject}: repository ${url} not found (the server said: ${text}): check the path in spec.url, and that the key in ${secret} can read it`);
    }
    if (/denied|permission|not allowed|forbidden|unauthori[sz]ed/i.test(said)) {
      return new GitSourceError('AuthenticationFailed', `${subject}: ${url} refused access (the server said: ${text}): check that the key in ${secret} is allowed to read the repository`);
    }
    return new GitSourceError('FetchFailed', `${subject}: ${url} would not list its references over SSH (the server said: ${text}): check spec.url`);
  }
}

function connectError(s: SshSettings, err: Error & { level?: string; code?: string }, offered: Buffer | undefined, hostAccepted: boolean): GitSourceError {
  const { subject, url, secret } = s;
  const { host, port, user } = s.endpoint;
  if (offered && !hostAccepted) {
    const revoked = isRevoked(s.hostKeys, offered);
    const what = `${blobType(offered)} ${fingerprint(offered)}`;
    const unused = s.hostKeys.certAuthorities.map(describeCertAuthority).join('; ');
    const caNote = unused ? ` (and not through its certificate authority, as SSH host certificates are not supported: ${unused})` : '';
    return new GitSourceError(
      'AuthenticationFailed',
      revoked
        ? `${subject}: the host key of ${knownHostsName(host, port)} (${what}) is marked @revoked in known_hosts of ${secret}: refusing to connect; put the server's current host key in the secret's known_hosts`
        : `${subject}: the host key of ${knownHostsName(host, port)} (${what}) does not match known_hosts in ${secret}${caNote}: add the server's host key to the secret's known_hosts (ssh-keyscan${port === 22 ? '' : ` -p ${port}`} ${host}, after checking its fingerprint)`,
    );
  }
  if (err.level === 'client-authentication') {
    return new GitSourceError('AuthenticationFailed', `${subject}: ${url} refused the SSH key in ${secret} (user ${JSON.stringify(user)}): check that the identity's public key is a deploy key with read access to the repository`);
  }
  if (err.level === 'client-timeout') {
    return new GitSourceError('FetchFailed', `${subject}: no SSH handshake with ${host}:${port} in time: check spec.url and that the host is reachable on that port`);
  }
  if (err.level === 'client-socket' || err.level === 'client-dns') {
    return new GitSourceError('FetchFailed', `${subject}: could not connect to ${host}:${port} over SSH (${redactString(err.code ?? err.message)}): check spec.url and that the host is reachable`);
  }
  if (/no matching|handshake failed|host key/i.test(err.message)) {
    return new GitSourceError('AuthenticationFailed', `${subject}: ${host}:${port} offered none of the host key types known_hosts in ${secret} has for it (${s.hostKeys.keys.map((k) => k.type).join(', ')}): add the server's host key to the secret's known_hosts (ssh-keyscan${port === 22 ? '' : ` -p ${port}`} ${host})`);
  }
  return new GitSourceError('FetchFailed', `${subject}: the SSH connection to ${url} failed: ${redactString(err.message)}`);
}

/**
 * Where the ref advertisement ends (just after its flush-pkt), 'more' if it has not yet come
 * whole, 'bad' if the bytes are not pkt-lines.
 */
function advertisementEnd(buf: Buffer): number | 'more' | 'bad' {
  let at = 0;
  while (at + 4 <= buf.length) {
    const hex = buf.subarray(at, at + 4).toString('latin1');
    if (!/^[0-9a-f]{4}$/i.test(hex)) return 'bad';
    const n = Number.parseInt(hex, 16);
    if (n === 0) return at + 4;
    if (n < 4) return 'bad';
    at += n;
  }
  return 'more';
}

function pktPayload(buf: Buffer): string | undefined {
  if (buf.length < 4) return undefined;
  const n = Number.parseInt(buf.subarray(0, 4).toString('latin1'), 16);
  return n > 4 ? buf.subarray(4, n).toString('utf8') : undefined;
}

/** Quoted for the remote shell as git quotes it: '...' with ' as '\''. */
function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
