/**
 * The one primitive both store implementations provide: keyed bytes with conditional writes.
 * Everything typed (objects, status, inventories, leases, artifacts) is built on it once, in this
 * folder, so the directory and S3 stores cannot drift apart in meaning.
 */

export interface BlobVersion {
  /** Opaque version tag: S3's ETag, or the content digest on disk. */
  readonly etag: string;
}

export interface Blob extends BlobVersion {
  readonly body: Uint8Array;
}

export interface PutOptions {
  /** Write only if the stored version has this etag (S3 `If-Match`). */
  readonly ifMatch?: string;
  /** `*`: write only if nothing is stored under the key (S3 `If-None-Match: *`). */
  readonly ifNoneMatch?: '*';
  readonly contentType?: string;
}

export interface BlobStore {
  /** Where the blobs live, for messages: `s3://bucket/prefix` or a directory path. */
  readonly location: string;
  get(key: string): Promise<Blob | undefined>;
  head(key: string): Promise<BlobVersion | undefined>;
  /** Throws {@link StoreConflictError} when a condition does not hold. */
  put(key: string, body: Uint8Array, options?: PutOptions): Promise<BlobVersion>;
  /** Deleting a key that is not there is not an error. */
  delete(key: string): Promise<void>;
  /** Every key under the prefix, in lexical order. */
  list(prefix: string): Promise<string[]>;
}
