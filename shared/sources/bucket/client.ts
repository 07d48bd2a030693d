import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { registerSecret } from '../../redact.ts';

export type BucketProvider = 'aws' | 'generic';

/** Static keys from the Secret spec.secretRef names (Flux's `accesskey` and `secretkey`). */
export interface BucketCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Where a Bucket's objects are and how to reach them: the spec fields of source.toolkit.fluxcd.io/v1 Bucket. */
export interface BucketEndpointSpec {
  bucketName: string;
  /** `host[:port]` as in Flux (an `http://` or `https://` URL is taken as is). */
  endpoint?: string;
  /** Plain http instead of https. */
  insecure?: boolean;
  region?: string;
  /** Default `generic`, as in Flux. */
  provider?: BucketProvider;
  /** Absent: `aws` uses the SDK's default credentials (the function's IAM role); `generic` reads anonymously. */
  credentials?: BucketCredentials;
}

export interface BucketClient {
  client: S3Client;
  /** For messages: `https://host:port`, or `AWS S3 (<region>)`. */
  location: string;
}

const DEFAULT_REGION = 'us-east-1';
/** The public S3 endpoints (s3.amazonaws.com, s3.<region>.amazonaws.com, s3-<region>..., dualstack): the SDK finds those itself. */
const AWS_S3_HOST = /^s3(?:[.-]([a-z0-9-]+))?(?:\.dualstack)?(?:\.([a-z0-9-]+))?\.amazonaws\.com(?:\.cn)?$/;

/**
 * An S3 client for a Bucket. `generic` is any S3-compatible store (MinIO, Ceph, R2, GCS's XML API
 * with HMAC keys): path-style addressing, checksums only where required. `aws` is S3 itself: the
 * SDK resolves the regional endpoint and follows a region redirect; a non-public endpoint (a VPC
 * endpoint, a local S3) is used as given.
 */
export function openBucketClient(spec: BucketEndpointSpec): BucketClient {
  const provider = spec.provider ?? 'generic';
  if (spec.credentials) registerSecret(spec.credentials.secretAccessKey);
  const url = endpointUrl(spec);
  const host = url ? new URL(url).hostname.toLowerCase() : undefined;
  const awsHost = host ? AWS_S3_HOST.exec(host) : undefined;
  const region = spec.region || regionOf(awsHost) || (provider === 'aws' ? process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION : undefined) || DEFAULT_REGION;

  const config: S3ClientConfig = { region };
  if (spec.credentials) config.credentials = { accessKeyId: spec.credentials.accessKeyId, secretAccessKey: spec.credentials.secretAccessKey };
  let location: string;
  if (provider === 'aws') {
    config.followRegionRedirects = true;
    if (url && !awsHost) config.endpoint = url;
    location = config.endpoint ? String(url) : `AWS S3 (${region})`;
  } else {
    config.endpoint = url;
    config.forcePathStyle = true;
    if (awsHost) config.followRegionRedirects = true;
    // S3-compatible stores differ on the newer flexible checksums; send and check them only where S3 requires them.
    config.requestChecksumCalculation = 'WHEN_REQUIRED';
    config.responseChecksumValidation = 'WHEN_REQUIRED';
    // No keys: anonymous requests, unsigned (Flux's generic provider without a secret).
    // (The SDK still resolves an identity before signing: an empty one, never sent.)
    if (!spec.credentials) {
      config.credentials = { accessKeyId: '', secretAccessKey: '' };
      config.signer = { sign: async (request) => request };
    }
    location = String(url);
  }
  return { client: new S3Client(config), location };
}

function endpointUrl(spec: BucketEndpointSpec): string | undefined {
  const raw = spec.endpoint?.trim();
  if (!raw) return undefined;
  const url = /^https?:\/\//i.test(raw) ? raw : `${spec.insecure ? 'http' : 'https'}://${raw}`;
  return url.replace(/\/+$/, '');
}

function regionOf(m: RegExpExecArray | null | undefined): string | undefined {
  if (!m) return undefined;
  const r = m[2] ?? m[1];
  return r && r !== 'external-1' ? r : undefined;
}
