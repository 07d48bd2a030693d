import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './daemon.ts';

/**
 * EKS's aws-iam-authenticator, for the rig: kube-apiserver's webhook token authenticator
 * (`--authentication-token-webhook-config-file`) sends it a TokenReview per bearer token; it
 * answers with the user an EKS token maps to, as EKS does:
 *
 * 1. the token is `k8s-aws-v1.` + base64url of a presigned STS GetCallerIdentity URL on the STS
 *    endpoint it trusts (here moto's), with only the query parameters a presigned URL has,
 *    `x-k8s-aws-id` among X-Amz-SignedHeaders, signed within the last 15 minutes;
 * 2. STS checks the signature with the cluster's own name as `x-k8s-aws-id`: a token made for
 *    another cluster fails. moto checks no signatures, so the rig does what STS would: it takes the
 *    secret of the access key from moto's state (`/moto-api/data.json`) and recomputes the SigV4
 *    signature with its own SigV4 code (independent of the signer Tide uses);
 * 3. the URL is replayed against moto's STS with `x-k8s-aws-id` set, and the returned ARN,
 *    canonicalised (assumed-role → role), is mapped to a username and groups by a table, as
 *    aws-auth's mapRoles or EKS access entries do.
 *
 * A moto_server quirk shapes step 3: its single server routes a request to a service by the
 * Authorization header's credential scope (and reads the caller's access key from it), so an
 * unsigned-looking GET whose signature sits in the query lands on S3. The replay therefore carries
 * the same SigV4 signature in header form (Authorization, X-Amz-Date, X-Amz-Security-Token); see
 * {@link getCallerIdentity}.
 */

export interface IdentityMapping {
  /** Kubernetes username; `{{SessionName}}` and `{{AccountID}}` are replaced, as in aws-auth. */
  readonly username: string;
  readonly groups?: readonly string[];
}

export interface IamAuthenticatorOptions {
  /** The cluster's name: the `x-k8s-aws-id` a token must be signed for. */
  readonly clusterId: string;
  /** The STS endpoint tokens must point at, and that the authenticator replays them against (moto). */
  readonly stsEndpoint: string;
  /** Canonical IAM ARN (`arn:aws:iam::<account>:role/<name>` or `:user/<name>`) → Kubernetes user. */
  readonly mapping: Readonly<Record<string, IdentityMapping>>;
  readonly now?: () => number;
}

export interface Review {
  readonly authenticated: boolean;
  readonly username?: string;
  readonly arn?: string;
  /** The token's X-Amz-Date: when it was signed. */
  readonly signedAt?: string;
  readonly error?: string;
}

export interface IamAuthenticator {
  /** The webhook's URL. */
  readonly url: string;
  /** kube-apiserver flags that make it ask this authenticator: pass to startKube's apiserverArgs. */
  readonly apiserverArgs: readonly string[];
  /** Every TokenReview answered, in order. */
  readonly reviews: readonly Review[];
  stop(): Promise<void>;
}

export interface CallerIdentity {
  readonly arn: string;
  readonly account: string;
  readonly userId: string;
}

const PREFIX = 'k8s-aws-v1.';
const MAX_TOKEN_LENGTH = 4096;
const FIFTEEN_MINUTES_MS = 15 * 60_000;
/** The query parameters a presigned GetCallerIdentity may carry (aws-iam-authenticator's list). */
const PARAMETERS = new Set([
  'action', 'version', 'x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-expires',
  'x-amz-security-token', 'x-amz-signature', 'x-amz-signedheaders',
]);

export async function startIamAuthenticator(options: IamAuthenticatorOptions): Promise<IamAuthenticator> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/authenticate`;
  const reviews: Review[] = [];
  const server = createServer((req, res) => void handle(req, res, options, reviews));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const dir = await mkdtemp(join(tmpdir(), 'tide-iam-authn-'));
  const config = join(dir, 'webhook.kubeconfig');
  await writeFile(
    config,
    `apiVersion: v1
kind: Config
clusters:
- name: aws-iam-authenticator
  cluster:
    server: ${url}
users:
- name: apiserver
  user: {}
contexts:
- name: webhook
  context:
    cluster: aws-iam-authenticator
    user: apiserver
current-context: webhook
`,
  );
  return {
    url,
    apiserverArgs: [
      `--authentication-token-webhook-config-file=${config}`,
      '--authentication-token-webhook-version=v1',
      // Tests reuse no token after changing what it maps to; keep answers briefly anyway.
      '--authentication-token-webhook-cache-ttl=1s',
    ],
    reviews,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, options: IamAuthenticatorOptions, reviews: Review[]): Promise<void> {
  let review: { apiVersion?: string; spec?: { token?: string } };
  try {
    let text = '';
    for await (const chunk of req) text += chunk;
    review = JSON.parse(text);
  } catch {
    res.writeHead(400).end();
    return;
  }
  const apiVersion = review.apiVersion ?? 'authentication.k8s.io/v1';
  let status: Record<string, unknown>;
  try {
    const who = await authenticate(review.spec?.token ?? '', options);
    reviews.push({ authenticated: true, username: who.username, arn: who.arn, signedAt: who.signedAt });
    status = { authenticated: true, user: { username: who.username, uid: who.uid, groups: who.groups, extra: { arn: [who.arn], canonicalArn: [who.canonicalArn] } } };
  } catch (err) {
    const error = (err as Error).message;
    reviews.push({ authenticated: false, error });
    status = { authenticated: false, error };
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion, kind: 'TokenReview', status }));
}

/** What aws-iam-authenticator decides for one token: the user, or an error saying why not. */
export async function authenticate(
  token: string,
  options: IamAuthenticatorOptions,
): Promise<{ username: string; uid: string; groups: string[]; arn: string; canonicalArn: string; signedAt: string }> {
  const url = await verifyEksToken(token, options);
  const identity = await getCallerIdentity(url, options.clusterId);
  const canonicalArn = canonicalizeArn(identity.arn);
  const mapped = options.mapping[canonicalArn];
  if (!mapped) throw new Error(`ARN is not mapped: ${canonicalArn}`);
  const session = /:assumed-role\/[^/]+\/(.+)$/.exec(identity.arn)?.[1] ?? '';
  const username = mapped.username.replaceAll('{{SessionName}}', session).replaceAll('{{AccountID}}', identity.account);
  const signedAt = url.searchParams.get('X-Amz-Date') ?? '';
  return { username, uid: `aws-iam-authenticator:${identity.account}:${identity.userId}`, groups: [...(mapped.groups ?? [])], arn: identity.arn, canonicalArn, signedAt };
}

/**
 * Steps 1 and 2: the token's URL, checked as aws-iam-authenticator checks it and with its
 * signature verified as STS would for `x-k8s-aws-id: <clusterId>`. Returns the URL.
 */
export async function verifyEksToken(token: string, options: Pick<IamAuthenticatorOptions, 'clusterId' | 'stsEndpoint' | 'now'>): Promise<URL> {
  if (!token.startsWith(PREFIX)) throw new Error('token is missing the k8s-aws-v1. prefix');
  if (token.length > MAX_TOKEN_LENGTH) throw new Error('token is too large');
  const encoded = token.slice(PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) throw new Error('token is not base64url without padding');
  let url: URL;
  try {
    url = new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    throw new Error('token does not hold a URL');
  }
  const sts = new URL(options.stsEndpoint);
  if (url.origin !== sts.origin) throw new Error(`unexpected STS endpoint ${url.origin} (want ${sts.origin})`);
  if (url.pathname !== '/') throw new Error(`unexpected path ${url.pathname}`);

  const query = new Map<string, string>();
  for (const [k, v] of url.searchParams) {
    if (!PARAMETERS.has(k.toLowerCase())) throw new Error(`non-allowlisted query parameter ${k}`);
    if (query.has(k)) throw new Error(`query parameter ${k} repeated`);
    query.set(k, v);
  }
  const need = (k: string) => {
    const v = query.get(k);
    if (!v) throw new Error(`query parameter ${k} is missing`);
    return v;
  };
  if (need('Action') !== 'GetCallerIdentity') throw new Error(`unexpected action ${query.get('Action')}`);
  if (need('Version') !== '2011-06-15') throw new Error('unexpected Version');
  if (need('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') throw new Error('unexpected X-Amz-Algorithm');
  const signedHeaders = need('X-Amz-SignedHeaders').split(';');
  if (!signedHeaders.includes('x-k8s-aws-id')) throw new Error('client did not sign the x-k8s-aws-id header in the pre-signed URL');
  const expires = Number(need('X-Amz-Expires'));
  if (!Number.isInteger(expires) || expires <= 0 || expires > 15 * 60) throw new Error('X-Amz-Expires is not between 1 s and 15 min');
  const amzDate = need('X-Amz-Date');
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) throw new Error('X-Amz-Date is malformed');
  const signedAt = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  const now = (options.now ?? Date.now)();
  if (now - signedAt > FIFTEEN_MINUTES_MS) throw new Error('token is expired (signed more than 15 minutes ago)');
  if (signedAt - now > FIFTEEN_MINUTES_MS) throw new Error('token is signed in the future');

  // What STS does with the signature (moto does not): recompute it with the cluster's own name.
  const credential = need('X-Amz-Credential');
  const [accessKeyId, date, region, service, terminator, ...rest] = credential.split('/');
  if (!accessKeyId || !date || !region || service !== 'sts' || terminator !== 'aws4_request' || rest.length) throw new Error('X-Amz-Credential is malformed');
  if (date !== amzDate.slice(0, 8)) throw new Error('X-Amz-Credential date differs from X-Amz-Date');
  const secret = await motoSecret(options.stsEndpoint, accessKeyId);
  if (!secret) throw new Error('The security token included in the request is invalid (unknown access key)');
  if (secret.sessionToken !== undefined && query.get('X-Amz-Security-Token') !== secret.sessionToken) throw new Error('The security token included in the request is invalid');
  const headerValues: Record<string, string> = { host: url.host, 'x-k8s-aws-id': options.clusterId };
  const canonicalHeaders = [...signedHeaders].sort().map((h) => {
    const v = headerValues[h];
    if (v === undefined) throw new Error(`signed header ${h} is not one STS would see`);
    return `${h}:${v.trim()}\n`;
  });
  const canonicalQuery = [...query]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalRequest = ['GET', '/', canonicalQuery, canonicalHeaders.join(''), signedHeaders.join(';'), sha256Hex('')].join('\n');
  const scope = `${date}/${region}/sts/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${secret.secretAccessKey}`, date);
  for (const part of [region, 'sts', 'aws4_request']) key = hmac(key, part);
  const expected = Buffer.from(createHmac('sha256', key).update(stringToSign).digest('hex'));
  const given = Buffer.from(need('X-Amz-Signature'));
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new Error('SignatureDoesNotMatch: the request signature we calculated does not match the signature you provided (is the token for another cluster?)');
  }
  return url;
}

/**
 * Step 3: GetCallerIdentity with the token's URL and `x-k8s-aws-id`, against moto. The signature
 * travels in header form (see the file's comment): moto_server routes by it and reads the caller's
 * access key from it; X-Amz-Expires has no header form and is dropped.
 */
export async function getCallerIdentity(url: URL, clusterId: string): Promise<CallerIdentity> {
  const q = url.searchParams;
  const headers: Record<string, string> = {
    'x-k8s-aws-id': clusterId,
    accept: 'application/json',
    authorization: `AWS4-HMAC-SHA256 Credential=${q.get('X-Amz-Credential')}, SignedHeaders=${q.get('X-Amz-SignedHeaders')}, Signature=${q.get('X-Amz-Signature')}`,
    'x-amz-date': q.get('X-Amz-Date') ?? '',
  };
  const token = q.get('X-Amz-Security-Token');
  if (token) headers['x-amz-security-token'] = token;
  const res = await fetch(`${url.origin}/?Action=${encodeURIComponent(q.get('Action') ?? '')}&Version=${encodeURIComponent(q.get('Version') ?? '')}`, { headers });
  const text = await res.text();
  if (!res.ok) throw new Error(`STS answered ${res.status}: ${text.slice(0, 300)}`);
  return parseCallerIdentity(text);
}

/** GetCallerIdentity's answer, in STS's XML or JSON form. */
export function parseCallerIdentity(text: string): CallerIdentity {
  if (text.trimStart().startsWith('{')) {
    const r = (JSON.parse(text) as { GetCallerIdentityResponse?: { GetCallerIdentityResult?: { Arn?: string; Account?: string; UserId?: string } } }).GetCallerIdentityResponse?.GetCallerIdentityResult;
    if (!r?.Arn) throw new Error(`not a GetCallerIdentity answer: ${text.slice(0, 300)}`);
    return { arn: r.Arn, account: r.Account ?? '', userId: r.UserId ?? '' };
  }
  const tag = (t: string) => new RegExp(`<${t}>([^<]*)</${t}>`).exec(text)?.[1];
  const arn = tag('Arn');
  if (!text.includes('<GetCallerIdentityResponse') || !arn) throw new Error(`not a GetCallerIdentity answer: ${text.slice(0, 300)}`);
  return { arn, account: tag('Account') ?? '', userId: tag('UserId') ?? '' };
}

/** aws-iam-authenticator's arn.Canonicalize: an assumed-role session ARN becomes its role's ARN. */
export function canonicalizeArn(arn: string): string {
  const m = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(arn);
  if (m) return `arn:${m[1]}:iam::${m[2]}:role/${m[3]}`;
  if (/^arn:aws[a-z-]*:iam::\d{12}:(user|role)\/.+$/.test(arn)) return arn;
  throw new Error(`ARN ${arn} is not a user, role or assumed role`);
}

/** The secret (and session token) moto issued for an access key: assumed roles and IAM users. */
async function motoSecret(endpoint: string, accessKeyId: string): Promise<{ secretAccessKey: string; sessionToken?: string } | undefined> {
  const res = await fetch(new URL('/moto-api/data.json', endpoint));
  if (!res.ok) throw new Error(`moto's /moto-api/data.json answered ${res.status}`);
  const data = (await res.json()) as { sts?: { AssumedRole?: Array<{ access_key_id?: string; secret_access_key?: string; session_token?: string }> } };
  const role = data.sts?.AssumedRole?.find((r) => r.access_key_id === accessKeyId);
  if (role?.secret_access_key) return { secretAccessKey: role.secret_access_key, ...(role.session_token ? { sessionToken: role.session_token } : {}) };
  return undefined;
}

function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
