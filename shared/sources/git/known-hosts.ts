import { createHash, createHmac } from 'node:crypto';

/** One public key known_hosts lists for a host. */
export interface KnownHostKey {
  /** `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`... */
  type: string;
  /** The key blob as the server sends it (the base64 field of the line, decoded). */
  blob: Buffer;
}

/** A known_hosts line for the host that Tide does not use: @cert-authority, for messages. */
export interface CertAuthorityLine {
  /** 1-based line number in the known_hosts text. */
  line: number;
  /** The host patterns as written (hashed or not). */
  patterns: string;
  /** The CA key's type and blob. */
  type: string;
  blob: Buffer;
}

/**
 * The keys for one host, and the ones marked @revoked (which never pass, whoever lists them).
 * `certAuthorities` are the @cert-authority lines for the host: read, but not used, since the
 * SSH client (ssh2) cannot negotiate host certificates.
 */
export interface HostKeys {
  keys: KnownHostKey[];
  revoked: Buffer[];
  certAuthorities: CertAuthorityLine[];
}

/**
 * The name known_hosts files use for a server, as OpenSSH writes it: `host` on port 22,
 * `[host]:port` otherwise.
 */
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/**
 * Reads an OpenSSH known_hosts text and returns the keys listed for `host`:`port`. Understands
 * comma-separated patterns, `*` and `?` wildcards, `!` negation, hashed names (`|1|salt|hash`,
 * what `ssh-keyscan -H` writes), comments and the @revoked marker (as OpenSSH, for the hosts its
 * patterns match). @cert-authority lines for the host are returned apart, never as keys: host
 * certificates are not supported, and openRemote says so when they are all a host has.
 */
export function hostKeysFor(knownHosts: string, host: string, port: number): HostKeys {
  const name = knownHostsName(host, port);
  const out: HostKeys = { keys: [], revoked: [], certAuthorities: [] };
  for (const [index, raw] of knownHosts.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    let fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0]!.startsWith('@')) {
      marker = fields[0];
      fields = fields.slice(1);
    }
    const [patterns, type, b64] = fields;
    if (!patterns || !type || !b64) continue;
    if (!matchesHost(patterns, name)) continue;
    const blob = Buffer.from(b64, 'base64');
    if (blob.length === 0) continue;
    if (marker === '@revoked') out.revoked.push(blob);
    else if (marker === '@cert-authority') out.certAuthorities.push({ line: index + 1, patterns, type, blob });
    else if (marker === undefined) out.keys.push({ type, blob });
  }
  return out;
}

/** The listed keys minus the @revoked ones: what a server's host key may match. */
export function usableHostKeys(hostKeys: HostKeys): KnownHostKey[] {
  return hostKeys.keys.filter((k) => !isRevoked(hostKeys, k.blob));
}

export function isRevoked(hostKeys: HostKeys, blob: Buffer): boolean {
  return hostKeys.revoked.some((b) => b.equals(blob));
}

/** `line 3: @cert-authority *.example.com ssh-ed25519 SHA256:...`, for messages. */
export function describeCertAuthority(ca: CertAuthorityLine): string {
  return `line ${ca.line}: @cert-authority ${ca.patterns} ${ca.type} ${fingerprint(ca.blob)}`;
}

function matchesHost(patterns: string, name: string): boolean {
  if (patterns.startsWith('|1|')) return matchesHashed(patterns, name);
  let matched = false;
  for (const p of patterns.split(',')) {
    const negated = p.startsWith('!');
    const pattern = (negated ? p.slice(1) : p).toLowerCase();
    if (!glob(pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function matchesHashed(field: string, name: string): boolean {
  const [, , salt, hash] = field.split('|');
  if (!salt || !hash) return false;
  const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  const expected = Buffer.from(hash, 'base64');
  return expected.length === digest.length && expected.equals(digest);
}

function glob(pattern: string, name: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern === name;
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
  return new RegExp(`^${re}$`).test(name);
}

/** `SHA256:...` as `ssh-keygen -l` prints it, for messages. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type written at the start of a key blob (an SSH string). */
export function blobType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const n = blob.readUInt32BE(0);
  return n > 0 && n < 64 && blob.length >= 4 + n ? blob.subarray(4, 4 + n).toString('latin1') : 'unknown';
}

/**
 * The host key algorithms to offer the server, from the key types known_hosts has for it (as
 * OpenSSH does), so that a server holding several keys shows the one we can check.
 */
export function hostKeyAlgorithms(keys: readonly KnownHostKey[]): string[] {
  const order = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  const wanted = new Set<string>();
  for (const { type } of keys) {
    if (type === 'ssh-rsa') ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'].forEach((a) => wanted.add(a));
    else wanted.add(type);
  }
  return order.filter((a) => wanted.has(a));
}
