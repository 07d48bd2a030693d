import { redactString } from '../../redact.ts';

export type BucketSourceErrorReason =
  | 'BucketNotFound'
  | 'AuthenticationFailed'
  | 'UnsafeKey'
  | 'ArtifactTooLarge'
  | 'Timeout'
  | 'FetchFailed';

/**
 * A Bucket could not be fetched. The message names the object, the bucket and what to do, and
 * never holds a credential.
 */
export class BucketSourceError extends Error {
  override readonly name = 'BucketSourceError';
  constructor(
    readonly reason: BucketSourceErrorReason,
    message: string,
  ) {
    super(message);
  }
}

/** What an error message needs to know of the source it came from. */
export interface BucketTarget {
  /** The object, as formatRef prints it. */
  subject: string;
  bucketName: string;
  /** Where the bucket is: `https://host:port`, or `AWS S3 (<region>)`. */
  location: string;
  provider: 'aws' | 'generic';
  /** `namespace/name` of the Secret the keys came from, when spec.secretRef is set. */
  secret?: string;
  timeoutMs: number;
}

interface SdkError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

const AUTH_CODES = new Set([
  'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'TokenRefreshRequired',
  'AllAccessDisabled', 'AccountProblem', 'InvalidSecurity', 'CredentialsProviderError', 'Forbidden',
]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPROTO', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']);

/**
 * Turns what the S3 client threw into a BucketSourceError naming the object, the bucket and what
 * to do. `key` is the object being read, if any.
 */
export function toBucketSourceError(err: unknown, t: BucketTarget, key?: string): BucketSourceError {
  if (err instanceof BucketSourceError) return err;
  const e = (err ?? {}) as SdkError;
  const code = e.Code ?? e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  const where = `bucket '${t.bucketName}' at ${t.location}`;
  if (code === 'AbortError' || code === 'TimeoutError') {
    return new BucketSourceError('Timeout', `${t.subject}: reading ${where} timed out after ${t.timeoutMs / 1000}s: raise spec.timeout, or check that the endpoint answers`);
  }
  if (code === 'NoSuchBucket') {
    return new BucketSourceError('BucketNotFound', `${t.subject}: bucket '${t.bucketName}' not found at ${t.location}: create it, or fix spec.bucketName${t.provider === 'aws' ? ' and spec.region' : ' and spec.endpoint'}`);
  }
  if (AUTH_CODES.has(code) || status === 401 || status === 403) {
    const shown = code && code !== 'Unknown' && code !== 'Error' ? code : `HTTP ${status ?? '403'}`;
    const what = key !== undefined ? `reading object '${key}' of ${where}` : `access to ${where}`;
    return new BucketSourceError('AuthenticationFailed', `${t.subject}: ${what} was refused (${shown}): ${authAdvice(t, code)}`);
  }
  if (code === 'PreconditionFailed' && key !== undefined) {
    return new BucketSourceError('FetchFailed', `${t.subject}: object '${key}' in ${where} changed while it was being fetched: it is fetched again at the next interval`);
  }
  if (code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed' || code === 'IllegalLocationConstraintException') {
    return new BucketSourceError('FetchFailed', `${t.subject}: ${where} is in another region (${code}): set spec.region to the bucket's region`);
  }
  const net = networkCode(err);
  if (net) {
    return new BucketSourceError('FetchFailed', `${t.subject}: could not reach ${t.location} (${net}): check spec.endpoint${t.provider === 'generic' ? ' and spec.insecure (true for plain http)' : ''}`);
  }
  const what = key !== undefined ? `reading object '${key}' of ${where}` : `listing ${where}`;
  const detail = redactString(String(e.message || code || err));
  return new BucketSourceError('FetchFailed', `${t.subject}: ${what} failed: ${code && !detail.includes(code) ? `${code}: ` : ''}${detail}`);
}

function authAdvice(t: BucketTarget, code: string): string {
  if (t.secret) {
    if (code === 'AccessDenied' || code === 'AllAccessDisabled') {
      return `the keys in secret ${t.secret} are valid but may not read the bucket: allow s3:ListBucket and s3:GetObject on it`;
    }
    return `check accesskey and secretkey in secret ${t.secret}`;
  }
  if (t.provider === 'aws') {
    return `Tide used its own IAM role (no spec.secretRef): allow that role s3:ListBucket and s3:GetObject on the bucket (and the bucket's policy must let it), or set spec.secretRef to a Secret with accesskey and secretkey`;
  }
  return `the bucket does not allow anonymous reads: set spec.secretRef to a Secret with accesskey and secretkey`;
}

function networkCode(err: unknown): string | undefined {
  for (let e = err as SdkError | undefined, i = 0; e && i < 5; e = e.cause as SdkError | undefined, i++) {
    if (e.code && NETWORK_CODES.has(e.code)) return e.code;
  }
  return undefined;
}
