import { createHash } from 'node:crypto';
import type { BlobStore } from './blob.ts';
import { StoreConflictError, StoreCorruptError } from './errors.ts';
import { refKey, type ObjectRef } from './refs.ts';

export interface StoredArtifact {
  /** `sha256:<hex>` of the bytes. */
  readonly digest: string;
  readonly key: string;
  readonly size: number;
  /** False when that digest was already stored: nothing was uploaded. */
  readonly uploaded: boolean;
}

/** Suffix of artifact pointer keys; the S3 notification rule filters on it. */
export const POINTER_SUFFIX = '.artifact.json';

const DIGEST = /^sha256:([a-f0-9]{64})$/;

/**
 * Content-addressed artifacts of a source: `clusters/<c>/artifacts/<ns>/<Kind>/<name>/<hex>.tar.gz`.
 * Storing bytes whose digest is already there costs one HEAD and uploads nothing; reading checks
 * the digest, so a truncated or altered artifact is an error naming its key, never used.
 */
export class Artifacts {
  constructor(private readonly blobs: BlobStore) {}

  key(ref: ObjectRef, digest: string): string {
    const hex = DIGEST.exec(digest)?.[1];
    if (!hex) throw new Error(`artifact digest ${JSON.stringify(digest)} is not of the form sha256:<64 hex digits>`);
    return `${refKey('artifacts', ref, '')}/${hex}.tar.gz`;
  }

  async put(ref: ObjectRef, bytes: Uint8Array): Promise<StoredArtifact> {
    const digest = digestOf(bytes);
    const key = this.key(ref, digest);
    if (await this.blobs.head(key)) return { digest, key, size: bytes.length, uploaded: false };
    try {
      await this.blobs.put(key, bytes, { ifNoneMatch: '*', contentType: 'application/gzip' });
    } catch (err) {
      // Another writer stored the same digest first: same bytes, nothing lost.
      if (err instanceof StoreConflictError) return { digest, key, size: bytes.length, uploaded: false };
      throw err;
    }
    return { digest, key, size: bytes.length, uploaded: true };
  }

  async has(ref: ObjectRef, digest: string): Promise<boolean> {
    return (await this.blobs.head(this.key(ref, digest))) !== undefined;
  }

  /** The artifact's bytes, checked against the digest; undefined when it is not stored. */
  async get(ref: ObjectRef, digest: string): Promise<Uint8Array | undefined> {
    const key = this.key(ref, digest);
    const blob = await this.blobs.get(key);
    if (!blob) return undefined;
    const actual = digestOf(blob.body);
    if (actual !== digest) {
      throw new StoreCorruptError(key, `content digest is ${actual}, not ${digest} (truncated or altered)`);
    }
    return blob.body;
  }

  /** Digests stored for one source. */
  async list(ref: ObjectRef): Promise<string[]> {
    const prefix = `${refKey('artifacts', ref, '')}/`;
    return (await this.blobs.list(prefix))
      .map((k) => /\/([a-f0-9]{64})\.tar\.gz$/.exec(k)?.[1])
      .filter((h): h is string => h !== undefined)
      .map((h) => `sha256:${h}`);
  }

  /** Key of the pointer to a source's current artifact: `clusters/<c>/artifacts/<ns>/<Kind>/<name>.artifact.json`. */
  pointerKey(ref: ObjectRef): string {
    return refKey('artifacts', ref, POINTER_SUFFIX);
  }

  /**
   * Records which artifact is current. Written only when a source stores a new revision, so on AWS
   * its S3 "Object Created" notification is the signal that reaches every consumer (and a
   * consumer of a user's own bucket is reached the same way).
   */
  async point(ref: ObjectRef, current: { digest: string; revision: string }): Promise<void> {
    this.key(ref, current.digest); // checks the digest's form
    await this.blobs.put(this.pointerKey(ref), new TextEncoder().encode(JSON.stringify(current)), { contentType: 'application/json' });
  }

  async delete(ref: ObjectRef, digest: string): Promise<void> {
    await this.blobs.delete(this.key(ref, digest));
  }
}

export function digestOf(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
