import type { AuthCallback, AuthFailureCallback, GitAuth, HttpClient } from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';
import { registerSecret, redactString } from '../../redact.ts';
import { GitSourceError } from './errors.ts';
import { blobType, describeCertAuthority, fingerprint, hostKeyAlgorithms, hostKeysFor, knownHostsName, usableHostKeys } from './known-hosts.ts';
import { placeholderUrl, SshGitClient, type SshEndpoint, type SshSettings } from './ssh-transport.ts';
import type { GitCredentials, GitSourceSpec } from './types.ts';

/** How to talk to a GitRepository's server with isomorphic-git: URL, headers and auth callbacks. */
export interface Remote {
  /** `GitRepository <namespace>/<name>`, the start of every message. */
  readonly subject: string;
  /**
   * The URL put in messages: without user info for HTTP(S); for SSH as written (its user name is
   * not a secret), minus any password.
   */
  readonly url: string;
  /** `http` for HTTP(S) URLs, `ssh` for ssh:// and scp-like `user@host:path`. */
  readonly transport: 'http' | 'ssh';
  /**
   * The client and URL for a ref listing and the fetch after it (or either alone). Call close()
   * once done (also on failure): over SSH both go on one connection, held open in between.
   */
  connect(): Connection;
  readonly credentials: GitCredentials;
  /** `namespace/name` of the Secret the credentials came from, for messages. */
  readonly secret: string | undefined;
  /** Fresh each call (isomorphic-git writes into it): credentials sent up front, so no 401 round trip. */
  headers(): Record<string, string>;
  /** Gives the credentials once if the server still asks; never prompts. */
  readonly onAuth: AuthCallback;
  /** A second refusal cancels: wrong credentials become an error, not a loop. */
  readonly onAuthFailure: AuthFailureCallback;
}

/** One listing's and fetch's way to the server (over SSH: one connection, one git-upload-pack). */
export interface Connection {
  readonly http: HttpClient;
  /** The URL given to isomorphic-git (a placeholder over SSH: the client ignores it). */
  readonly url: string;
  close(): Promise<void>;
}

/** Checks the URL (HTTP(S) or SSH) and registers every credential with the redactor. */
export function openRemote(spec: GitSourceSpec): Remote {
  const subject = `GitRepository ${spec.id}`;
  const raw = spec.url.trim();
  if (/^ssh:\/\//i.test(raw) || SCP_LIKE.test(raw)) return openSshRemote(spec, subject, raw);
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new GitSourceError('Unsupported', `${subject}: spec.url ${JSON.stringify(redactString(raw))} is not a valid URL: use an https:// URL`);
  }
  const fromUrl: GitCredentials = {
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
  };
  parsed.username = '';
  parsed.password = '';
  const url = parsed.href.replace(/\/+$/, '');
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new GitSourceError('Unsupported', `${subject}: ${parsed.protocol}// URLs are not supported (${url}): use an https:// URL`);
  }

  const given = spec.credentials ?? {};
  const credentials: GitCredentials = {
    username: given.username || fromUrl.username,
    password: given.password || fromUrl.password,
    bearerToken: given.bearerToken || undefined,
  };
  // A token given as a password alone: GitHub and most hosts take any username, `git` by custom.
  if (credentials.password && !credentials.username) credentials.username = 'git';
  registerSecret(credentials.password);
  registerSecret(credentials.bearerToken);

  const auth = authHeaders(credentials);
  for (const value of Object.values(auth)) registerSecret(value.replace(/^\w+\s+/, ''));
  let offered = false;
  return {
    subject,
    url,
    transport: 'http',
    connect: () => ({ http, url, close: async () => undefined }),
    credentials,
    secret: spec.secret,
    headers: () => ({ ...auth }),
    onAuth: (): GitAuth => {
      if (offered || Object.keys(auth).length === 0) return { cancel: true };
      offered = true;
      return { headers: { ...auth } };
    },
    onAuthFailure: (): GitAuth => ({ cancel: true }),
  };
}

function authHeaders(c: GitCredentials): Record<string, string> {
  if (c.bearerToken) return { Authorization: `Bearer ${c.bearerToken}` };
  if (c.username || c.password) {
    return { Authorization: `Basic ${Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`).toString('base64')}` };
  }
  return {};
}

/** scp-like `user@host:path` (the user is required, so nothing else reads as one). */
const SCP_LIKE = /^([^\s/:@]+)@([^\s/:@]+|\[[^\]\s]+\]):(?!\/\/)(.*)$/;

/**
 * An ssh:// or scp-like URL, authenticated as Flux does with the secret's `identity` (private key)
 * and `known_hosts`; `password` is the key's passphrase. Host keys are always checked.
 */
function openSshRemote(spec: GitSourceSpec, subject: string, raw: string): Remote {
  const given = spec.credentials ?? {};
  const secret = spec.secret ? `secret ${spec.secret}` : 'the secret named by spec.secretRef';
  registerSecret(given.identity);
  registerSecret(given.password);
  const { endpoint, url } = parseSshUrl(subject, raw, given.username);
  const keyscan = `ssh-keyscan${endpoint.port === 22 ? '' : ` -p ${endpoint.port}`} ${endpoint.host}`;

  if (!given.identity?.trim()) {
    throw new GitSourceError('AuthenticationFailed', `${subject}: ${url} is an SSH URL and no private key was given: set spec.secretRef to a secret with identity (the deploy key's private key) and known_hosts`);
  }
  const parsedKeys = ssh2.utils.parseKey(given.identity, given.password || undefined) as ReturnType<typeof ssh2.utils.parseKey> | ParsedKey[];
  const parsed = Array.isArray(parsedKeys) ? parsedKeys[0] ?? new Error('no key found') : parsedKeys;
  if (parsed instanceof Error || !parsed.isPrivateKey()) {
    const message = parsed instanceof Error ? parsed.message : 'it is a public key';
    const encrypted = /encrypted|passphrase|bad decrypt/i.test(message);
    throw new GitSourceError(
      'AuthenticationFailed',
      encrypted
        ? `${subject}: the identity in ${secret} is an encrypted private key and ${given.password ? 'the password does not open it' : 'no password was given'}: put its passphrase in the secret's password, or use a key without one`
        : `${subject}: the identity in ${secret} is not a private key Tide can read (${redactString(message)}): give an OpenSSH or PEM private key (RSA, ECDSA or Ed25519)`,
    );
  }
  if (!given.knownHosts?.trim()) {
    throw new GitSourceError('AuthenticationFailed', `${subject}: ${secret} has no known_hosts, and host keys are always checked: add the host key of ${knownHostsName(endpoint.host, endpoint.port)} to the secret's known_hosts (${keyscan}, after checking its fingerprint)`);
  }
  const listed = hostKeysFor(given.knownHosts, endpoint.host, endpoint.port);
  const name = knownHostsName(endpoint.host, endpoint.port);
  // Revoked keys are never offered nor accepted; with none left, there is no point connecting.
  const hostKeys = { ...listed, keys: usableHostKeys(listed) };
  if (hostKeys.keys.length === 0 && listed.certAuthorities.length > 0) {
    // ssh2 offers and verifies plain host keys only: a certificate authority cannot vouch for the server.
    throw new GitSourceError('Unsupported', `${subject}: known_hosts in ${secret} trusts ${name} only through a host certificate authority (${listed.certAuthorities.map(describeCertAuthority).join('; ')}), and SSH host certificates are not supported: add the server's plain host key line to the secret's known_hosts (${keyscan}, after checking its fingerprint)`);
  }
  if (hostKeys.keys.length === 0 && listed.revoked.length > 0) {
    const revoked = listed.revoked.map((b) => `${blobType(b)} ${fingerprint(b)}`).join(', ');
    throw new GitSourceError('AuthenticationFailed', `${subject}: known_hosts in ${secret} has no key for ${name} that is not marked @revoked (revoked: ${revoked}): refusing to connect; put the server's current host key in the secret's known_hosts (${keyscan}, after checking its fingerprint)`);
  }
  if (hostKeys.keys.length === 0 || hostKeyAlgorithms(hostKeys.keys).length === 0) {
    throw new GitSourceError('AuthenticationFailed', `${subject}: known_hosts in ${secret} has no ${hostKeys.keys.length ? 'usable ' : ''}key for ${name}: add the server's host key to the secret's known_hosts (${keyscan}, after checking its fingerprint)`);
  }

  const settings: SshSettings = { endpoint, key: parsed, hostKeys, subject, url, secret };
  const gitUrl = placeholderUrl(endpoint);
  const credentials: GitCredentials = { username: endpoint.user, identity: given.identity, knownHosts: given.knownHosts, password: given.password || undefined };
  return {
    subject,
    url,
    transport: 'ssh',
    connect: () => {
      const client = new SshGitClient(settings);
      return { http: client, url: gitUrl, close: () => client.close() };
    },
    credentials,
    secret: spec.secret,
    headers: () => ({}),
    onAuth: (): GitAuth => ({ cancel: true }),
    onAuthFailure: (): GitAuth => ({ cancel: true }),
  };
}

/**
 * Host, port, user and path from `ssh://[user@]host[:port]/path` or `user@host:path`. The path
 * is sent as git sends it: absolute for ssh:// (but `/~user/...` relative to a home), as written
 * for the scp-like form. The user is the URL's, else the secret's username, else `git`.
 */
function parseSshUrl(subject: string, raw: string, fallbackUser: string | undefined): { endpoint: SshEndpoint; url: string } {
  const bad = (why: string) =>
    new GitSourceError('Unsupported', `${subject}: spec.url ${JSON.stringify(redactString(raw))} is not a valid SSH URL (${why}): write it as ssh://git@host[:port]/path or git@host:path`);
  if (/^ssh:\/\//i.test(raw)) {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw bad('it does not parse');
    }
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    if (!host) throw bad('no host');
    let path = decodeURIComponent(u.pathname);
    if (!path || path === '/') throw bad('no repository path');
    if (path.startsWith('/~')) path = path.slice(1);
    const user = (u.username ? decodeURIComponent(u.username) : '') || fallbackUser || 'git';
    const port = u.port ? Number(u.port) : 22;
    u.password = '';
    return { endpoint: { host, port, user, path }, url: u.href.replace(/\/+$/, '') };
  }
  const m = SCP_LIKE.exec(raw);
  if (!m) throw bad('it does not parse');
  const host = m[2]!.replace(/^\[(.*)\]$/, '$1');
  const path = m[3]!;
  if (!path) throw bad('no repository path');
  return { endpoint: { host, port: 22, user: m[1]!, path }, url: raw };
}
