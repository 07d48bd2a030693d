import { parse } from 'yaml';
import type { KubeAccess, KubeTls } from './access.ts';

/**
 * Kubeconfigs read from a store (Secrets Manager, a Kubernetes Secret), checked before use.
 *
 * A kubeconfig is code as much as data: a user `exec` plugin or `auth-provider` runs a program,
 * `tokenFile`, `client-certificate`, `client-key` and `certificate-authority` read files. Whoever
 * can write the stored kubeconfig could then run programs inside the function or read its files
 * (its AWS credentials, other clusters' secrets): the CVE-2022-24817 class Flux fixed. So a stored
 * kubeconfig may carry only inline credentials (`token`, `client-*-data`, basic auth) and inline
 * CA data; anything else is refused with the entry named and the reason given.
 *
 * The text is parsed with the `yaml` package and checked field by field against an allow-list;
 * the access is built from the checked fields alone (no other kubeconfig loader sees the text), so
 * a difference between two YAML parsers (merge keys, tags) cannot smuggle a field past the check.
 */

export interface StoredKubeConfigOptions {
  /** Accept `insecure-skip-tls-verify: true` (the cluster's identity is then not checked); default false. */
  readonly allowInsecureSkipTlsVerify?: boolean;
}

/** A stored kubeconfig that Tide will not use; the message names where it was read and why. */
export class UnsafeKubeConfigError extends Error {
  override readonly name = 'UnsafeKubeConfigError';
}

const WHY_PROGRAM = 'a kubeconfig read from a store must not run programs inside Tide (CVE-2022-24817)';
const WHY_FILE = "a kubeconfig read from a store must not read the function's files (CVE-2022-24817)";

/** User fields that are refused, with what to do instead. */
const USER_REFUSED: Record<string, string> = {
  exec: `an exec credential plugin runs a program; ${WHY_PROGRAM}. For EKS, register the cluster with eks: {cluster, roleArn} instead, or store a token`,
  'auth-provider': `an auth-provider runs a program or refreshes through files; ${WHY_PROGRAM}. Store a token instead`,
  tokenFile: `tokenFile reads a file; ${WHY_FILE}. Put the token itself in token`,
  'token-file': `token-file reads a file; ${WHY_FILE}. Put the token itself in token`,
  'client-certificate': `client-certificate is a file path; ${WHY_FILE}. Use client-certificate-data`,
  'client-key': `client-key is a file path; ${WHY_FILE}. Use client-key-data`,
};
const USER_ALLOWED = new Set(['token', 'client-certificate-data', 'client-key-data', 'username', 'password', 'as', 'extensions']);

const CLUSTER_REFUSED: Record<string, string> = {
  'certificate-authority': `certificate-authority is a file path; ${WHY_FILE}. Use certificate-authority-data`,
  'proxy-url': "Tide's client connects to the apiserver directly and does not go through a proxy (and a file or unix-socket proxy would reach into the function); remove proxy-url",
};
const CLUSTER_ALLOWED = new Set(['server', 'certificate-authority-data', 'tls-server-name', 'insecure-skip-tls-verify', 'disable-compression', 'extensions']);
const CONTEXT_ALLOWED = new Set(['cluster', 'user', 'namespace', 'extensions']);
const TOP_ALLOWED = new Set(['apiVersion', 'kind', 'clusters', 'users', 'contexts', 'current-context', 'preferences', 'extensions']);

/**
 * How to reach the cluster of kubeconfig text read from a store; `where` names the store in
 * errors (`Secrets Manager secret tide/prod/kubeconfig`). Every user and cluster in it is checked,
 * not only the current context's, and `context` (default the file's current-context) must exist.
 */
export function storedKubeconfigAccess(text: string, where: string, context?: string, options: StoredKubeConfigOptions = {}): KubeAccess {
  const refuse = (what: string, why: string) => new UnsafeKubeConfigError(`kubeconfig in ${where}: ${what}: ${why}`);
  let doc: unknown;
  try {
    doc = parse(text, { uniqueKeys: true, merge: false, maxAliasCount: 50 });
  } catch (err) {
    // The parser's message quotes the offending line, which may hold a credential: say only where.
    const pos = (err as { linePos?: Array<{ line: number; col: number }> }).linePos?.[0];
    throw refuse('not valid YAML', pos ? `at line ${pos.line}, column ${pos.col}` : (err as Error).name);
  }
  if (!isMap(doc)) throw refuse('not a kubeconfig', 'the text is not a YAML map with clusters, users and contexts');
  for (const key of Object.keys(doc)) {
    if (!TOP_ALLOWED.has(key)) throw refuse(`field ${JSON.stringify(key)}`, 'not a kubeconfig field Tide accepts from a store');
  }

  const clusters = entries(doc, 'clusters', 'cluster', refuse);
  const users = entries(doc, 'users', 'user', refuse);
  const contexts = entries(doc, 'contexts', 'context', refuse);

  for (const { name, body } of users) {
    for (const [key, value] of Object.entries(body)) {
      const refused = USER_REFUSED[key];
      if (refused) throw refuse(`user ${JSON.stringify(name)} has ${key}`, refused);
      if (!USER_ALLOWED.has(key)) {
        throw refuse(`user ${JSON.stringify(name)} has ${key}`, `not a field Tide accepts from a store (it accepts ${[...USER_ALLOWED].join(', ')})`);
      }
      if (key !== 'extensions' && typeof value !== 'string') throw refuse(`user ${JSON.stringify(name)}: ${key}`, 'must be a string');
    }
  }
  for (const { name, body } of clusters) {
    for (const [key, value] of Object.entries(body)) {
      const refused = CLUSTER_REFUSED[key];
      if (refused) throw refuse(`cluster ${JSON.stringify(name)} has ${key}`, refused);
      if (!CLUSTER_ALLOWED.has(key)) {
        throw refuse(`cluster ${JSON.stringify(name)} has ${key}`, `not a field Tide accepts from a store (it accepts ${[...CLUSTER_ALLOWED].join(', ')})`);
      }
      if (key === 'insecure-skip-tls-verify') {
        if (typeof value !== 'boolean') throw refuse(`cluster ${JSON.stringify(name)}: insecure-skip-tls-verify`, 'must be true or false');
        if (value && !options.allowInsecureSkipTlsVerify) {
          throw refuse(
            `cluster ${JSON.stringify(name)} has insecure-skip-tls-verify: true`,
            "the apiserver's certificate would not be checked, so anyone on the path could read the credentials; set certificate-authority-data (or allow it explicitly)",
          );
        }
      } else if (key === 'disable-compression') {
        if (typeof value !== 'boolean') throw refuse(`cluster ${JSON.stringify(name)}: disable-compression`, 'must be true or false');
      } else if (key !== 'extensions' && typeof value !== 'string') {
        throw refuse(`cluster ${JSON.stringify(name)}: ${key}`, 'must be a string');
      }
    }
    const server = body.server;
    if (typeof server !== 'string' || !server) throw refuse(`cluster ${JSON.stringify(name)}`, 'has no server');
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      throw refuse(`cluster ${JSON.stringify(name)}: server ${JSON.stringify(server)}`, 'is not a URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw refuse(`cluster ${JSON.stringify(name)}: server ${JSON.stringify(server)}`, 'must be an https:// URL (a unix socket or file would reach into the function)');
    }
  }
  for (const { name, body } of contexts) {
    for (const [key, value] of Object.entries(body)) {
      if (!CONTEXT_ALLOWED.has(key)) throw refuse(`context ${JSON.stringify(name)} has ${key}`, 'not a field Tide accepts from a store');
      if (key !== 'extensions' && typeof value !== 'string') throw refuse(`context ${JSON.stringify(name)}: ${key}`, 'must be a string');
    }
  }

  const current = doc['current-context'];
  if (current !== undefined && typeof current !== 'string') throw refuse('current-context', 'must be a string');
  const chosen = context ?? current;
  if (!chosen) throw refuse('no context', 'it has no current-context and none was named');
  const ctx = contexts.find((c) => c.name === chosen);
  if (!ctx) throw refuse(`context ${JSON.stringify(chosen)}`, `not found (it has ${contexts.map((c) => JSON.stringify(c.name)).join(', ') || 'no contexts'})`);
  if (!clusters.some((c) => c.name === ctx.body.cluster)) throw refuse(`context ${JSON.stringify(chosen)}`, `its cluster ${JSON.stringify(ctx.body.cluster)} is not in the kubeconfig`);
  if (ctx.body.user !== undefined && !users.some((u) => u.name === ctx.body.user)) {
    throw refuse(`context ${JSON.stringify(chosen)}`, `its user ${JSON.stringify(ctx.body.user)} is not in the kubeconfig`);
  }

  // The access, from the checked fields of the chosen context only.
  const cluster = clusters.find((c) => c.name === ctx.body.cluster)!.body;
  const user = users.find((u) => u.name === ctx.body.user)?.body ?? {};
  const pem = (field: string, b: Record<string, unknown>) => (typeof b[field] === 'string' ? Buffer.from(b[field] as string, 'base64').toString('utf8') : undefined);
  const server = cluster.server;
  if (typeof server !== 'string') throw refuse(`cluster ${JSON.stringify(ctx.body.cluster)}`, 'has no server');
  const tls: KubeTls = {
    ca: pem('certificate-authority-data', cluster),
    cert: pem('client-certificate-data', user),
    key: pem('client-key-data', user),
    ...(typeof cluster['tls-server-name'] === 'string' ? { servername: cluster['tls-server-name'] } : {}),
    rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
  };
  const headers: Record<string, string> = {};
  if (typeof user.token === 'string') headers.authorization = `Bearer ${user.token}`;
  else if (typeof user.username === 'string') headers.authorization = `Basic ${Buffer.from(`${user.username}:${String(user.password ?? '')}`).toString('base64')}`;
  if (typeof user.as === 'string') headers['impersonate-user'] = user.as;
  const creds = { headers, tls };
  return { server: server.replace(/\/+$/, ''), credentials: async () => creds };
}

type Refuse = (what: string, why: string) => UnsafeKubeConfigError;

/** The named entries of one list (`clusters: [{name, cluster: {...}}]`), each checked for shape. */
function entries(doc: Record<string, unknown>, list: string, field: string, refuse: Refuse): Array<{ name: string; body: Record<string, unknown> }> {
  const raw = doc[list];
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw refuse(list, 'must be a list');
  const seen = new Set<string>();
  return raw.map((item: unknown, i) => {
    if (!isMap(item)) throw refuse(`${list}[${i}]`, 'must be a map with name and ' + field);
    const name = item.name;
    if (typeof name !== 'string' || !name) throw refuse(`${list}[${i}]`, 'has no name');
    if (seen.has(name)) throw refuse(`${field} ${JSON.stringify(name)}`, `appears twice in ${list}`);
    seen.add(name);
    for (const key of Object.keys(item)) {
      if (key !== 'name' && key !== field) throw refuse(`${field} ${JSON.stringify(name)} has ${key} beside ${field}`, 'not a kubeconfig field Tide accepts from a store');
    }
    const body = item[field] ?? {};
    if (!isMap(body)) throw refuse(`${field} ${JSON.stringify(name)}`, `${field} must be a map`);
    return { name, body };
  });
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
