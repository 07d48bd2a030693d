import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

/** AWS credentials, as the SDK v3 resolves them (structurally @smithy/types' AwsCredentialIdentity). */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** Credentials or a provider of them (an SDK client's `config.credentials`, an assumed role's cache). */
export type AwsCredentialsInput = AwsCredentials | (() => Promise<AwsCredentials>);

export interface EksTokenOptions {
  /** The EKS cluster's name (not its ARN): what the authenticator compares `x-k8s-aws-id` to. */
  readonly clusterName: string;
  readonly region: string;
  readonly credentials: AwsCredentialsInput;
  /** STS endpoint override (moto in tests); default the regional endpoint `https://sts.<region>.amazonaws.com/`. */
  readonly endpoint?: string;
  /** Clock, for tests; default Date.now. */
  readonly now?: () => number;
}

export interface EksToken {
  /** `k8s-aws-v1.` + base64url (no padding) of the presigned STS GetCallerIdentity URL. */
  readonly token: string;
  /** When to stop using it (ms since the epoch): 14 of its 15 minutes, so callers refresh early. */
  readonly expiresAt: number;
}

export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
/** The header naming the cluster, signed into the URL so a token for one cluster fails on another. */
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id';
/** What aws-iam-authenticator and `aws eks get-token` presign for: the URL's own expiry. */
const PRESIGN_SECONDS = 60;
/** EKS accepts a token for 15 minutes after it was signed; use 14. */
const TOKEN_LIFETIME_MS = 14 * 60_000;

/** The regional STS endpoint, in the region's partition. */
export function stsEndpoint(region: string): string {
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sts.${region}.${suffix}/`;
}

/**
 * The bearer token EKS accepts, built exactly as aws-iam-authenticator and `aws eks get-token` do:
 * a SigV4-presigned `GET ?Action=GetCallerIdentity&Version=2011-06-15` of STS with the header
 * `x-k8s-aws-id: <cluster>` among the signed headers, valid 60 s as a URL, then
 * `k8s-aws-v1.` + base64url(url) without padding. EKS replays the URL against STS to learn the
 * caller's ARN; nothing is sent to AWS here.
 */
export async function eksToken(options: EksTokenOptions): Promise<EksToken> {
  if (!options.clusterName) throw new Error('eksToken: clusterName is empty');
  if (options.clusterName.startsWith('arn:')) {
    throw new Error(`eksToken: pass the EKS cluster's name, not its ARN (${options.clusterName})`);
  }
  const now = (options.now ?? Date.now)();
  const url = await presignGetCallerIdentity({
    endpoint: options.endpoint ?? stsEndpoint(options.region),
    region: options.region,
    credentials: options.credentials,
    headers: { [CLUSTER_ID_HEADER]: options.clusterName },
    expiresIn: PRESIGN_SECONDS,
    signingDate: new Date(now),
  });
  return { token: EKS_TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url'), expiresAt: now + TOKEN_LIFETIME_MS };
}

/** The URL inside an EKS token; throws when the text is not one. */
export function decodeEksToken(token: string): URL {
  if (!token.startsWith(EKS_TOKEN_PREFIX)) throw new Error(`not an EKS token: it does not start with ${EKS_TOKEN_PREFIX}`);
  return new URL(Buffer.from(token.slice(EKS_TOKEN_PREFIX.length), 'base64url').toString('utf8'));
}

export interface PresignOptions {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: AwsCredentialsInput;
  /** Extra headers to sign (besides host); they are not hoisted into the query. */
  readonly headers: Record<string, string>;
  readonly expiresIn: number;
  readonly signingDate: Date;
}

/**
 * A presigned STS GetCallerIdentity URL. Exported so that a verifier (the test rig's
 * authenticator) can recompute the signature the same way STS does.
 */
export async function presignGetCallerIdentity(options: PresignOptions): Promise<string> {
  const base = new URL(options.endpoint);
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new Error(`STS endpoint ${options.endpoint} is not an http(s) URL`);
  const host = base.host; // hostname[:port], as the Host header carries it
  const signer = new SignatureV4({
    service: 'sts',
    region: options.region,
    credentials: typeof options.credentials === 'function' ? options.credentials : async () => options.credentials as AwsCredentials,
    sha256: Sha256,
  });
  const request = new HttpRequest({
    method: 'GET',
    protocol: base.protocol,
    hostname: base.hostname,
    ...(base.port ? { port: Number(base.port) } : {}),
    path: base.pathname || '/',
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { host, ...options.headers },
  });
  const signed = await signer.presign(request, {
    expiresIn: options.expiresIn,
    signingDate: options.signingDate,
    signableHeaders: new Set(Object.keys(options.headers).map((h) => h.toLowerCase())),
  });
  const query = Object.entries(signed.query ?? {})
    .flatMap(([k, v]) => (v === null ? [escape(k)] : (Array.isArray(v) ? v : [v]).map((x) => `${escape(k)}=${escape(x)}`)))
    .join('&');
  return `${base.protocol}//${host}${base.pathname || '/'}?${query}`;
}

/** RFC 3986 escaping, as SigV4 canonicalises it. */
function escape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
