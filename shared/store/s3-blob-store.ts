import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Blob, BlobStore, BlobVersion, PutOptions } from './blob.ts';
import { StoreConflictError } from './errors.ts';

export interface S3BlobStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Prefix for every key, such as `tide/`; default none. */
  readonly prefix?: string;
}

/**
 * Blobs in one S3 bucket. Conditional writes are S3's own `If-Match` / `If-None-Match: *`; both
 * 412 PreconditionFailed and 409 ConditionalRequestConflict mean the write lost its race, so both
 * become {@link StoreConflictError}. Nothing here reads-then-writes, so correctness rests on S3's
 * conditional write alone.
 */
export class S3BlobStore implements BlobStore {
  readonly location: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(options: S3BlobStoreOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    this.location = `s3://${this.bucket}/${this.prefix}`;
  }

  async get(key: string): Promise<Blob | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      const body = out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
      return { body, etag: out.ETag ?? '' };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async head(key: string): Promise<BlobVersion | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return { etag: out.ETag ?? '' };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<BlobVersion> {
    try {
      const out = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Body: body,
          ContentType: options.contentType ?? 'application/json',
          IfMatch: options.ifMatch,
          IfNoneMatch: options.ifNoneMatch,
        }),
      );
      return { etag: out.ETag ?? '' };
    } catch (err) {
      const status = httpStatus(err);
      if (status === 412 || status === 409) {
        throw new StoreConflictError(key, options.ifNoneMatch ? 'it already exists' : undefined);
      }
      // A conditional put on a missing key answers 404 NoSuchKey.
      if (options.ifMatch !== undefined && isNotFound(err)) throw new StoreConflictError(key, 'it no longer exists');
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }),
      );
      for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key.slice(this.prefix.length));
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string })?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatus(err) === 404;
}
