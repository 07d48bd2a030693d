import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { ignoreMatcher, SOURCE_IGNORE_FILE, type PatternSource } from '../git/ignore-rules.ts';
import { packTarball, type PackEntry } from '../git/pack-tarball.ts';
import { openBucketClient, type BucketEndpointSpec } from './client.ts';
import { BucketSourceError, toBucketSourceError, type BucketTarget } from './errors.ts';

/** Largest artifact a Bucket may give (the objects' bytes, and the packed tar.gz). */
export const DEFAULT_MAX_BUCKET_BYTES = 200 * 1024 * 1024;
/** Flux's default spec.timeout for a Bucket. */
export const DEFAULT_BUCKET_TIMEOUT_MS = 60_000;
/** Objects downloaded at once. */
export const DEFAULT_FETCH_CONCURRENCY = 8;

/** What fetching a Bucket needs: where it is (client.ts) and what of it goes into the artifact. */
export interface BucketSourceSpec extends BucketEndpointSpec {
  /** For messages: the object, as formatRef prints it. */
  subject: string;
  /** Only keys starting with it are read; they keep their full key in the artifact, as in Flux. */
  prefix?: string;
  /** spec.ignore, gitignore syntax, applied after the .sourceignore objects. */
  ignore?: string;
  /** For messages: `namespace/name` of the Secret the keys came from. */
  secret?: string;
  /** Each step (listing, indexing, downloading) gives up after this long; default 60 s. */
  timeoutMs?: number;
  /** Default 200 MiB. */
  maxArtifactBytes?: number;
  /** Default 8. */
  concurrency?: number;
}

/** One object as the listing gives it. `etag` is as S3 sends it (quoted). */
export interface BucketObject {
  key: string;
  etag: string;
  size: number;
}

/** One listing of the bucket: enough to tell that nothing changed without downloading anything. */
export interface BucketListing {
  /** Every object under the prefix, directory markers (keys ending in `/`) left out. */
  objects: BucketObject[];
  /** The .sourceignore objects that apply: the bucket root's (Flux's), then the prefix's. */
  ignoreFiles: BucketObject[];
  /**
   * `sha256:<hex>` of everything the revision depends on: every key and ETag listed (ignored ones
   * and the .sourceignore objects included), the prefix and spec.ignore. The same digest always
   * means the same revision.
   */
  digest: string;
}

/** The objects that go into the artifact, and the revision they make. */
export interface BucketIndex {
  /** Flux's Bucket revision: `sha256:<hex>` of the sorted `<key> <etag>\n` lines of the index. */
  revision: string;
  /** In key order. */
  objects: BucketObject[];
  /** Their total size. */
  bytes: number;
}

export interface FetchedBucket {
  revision: string;
  /** The deterministic tar.gz of the objects (full keys as paths). */
  tarball: Uint8Array;
  files: number;
  bytes: number;
}

/**
 * A Bucket of source.toolkit.fluxcd.io/v1 on S3 or an S3-compatible store. `list` is the cheap
 * poll (ListObjectsV2, paginated; plus one HEAD for the root .sourceignore when a prefix is set);
 * `index` reads the .sourceignore objects and applies the ignore rules to learn the revision;
 * `fetch` downloads the index's objects (a few at a time) and packs them.
 */
export class BucketSource {
  private readonly client: S3Client;
  private readonly target: BucketTarget;
  private readonly prefix: string;

  constructor(private readonly spec: BucketSourceSpec) {
    const { client, location } = openBucketClient(spec);
    this.client = client;
    this.prefix = spec.prefix ?? '';
    this.target = {
      subject: spec.subject,
      bucketName: spec.bucketName,
      location,
      provider: spec.provider ?? 'generic',
      timeoutMs: spec.timeoutMs ?? DEFAULT_BUCKET_TIMEOUT_MS,
      ...(spec.secret ? { secret: spec.secret } : {}),
    };
  }

  close(): void {
    this.client.destroy();
  }

  async list(): Promise<BucketListing> {
    const signal = this.deadline();
    try {
      const objects: BucketObject[] = [];
      let token: string | undefined;
      do {
        const out = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.spec.bucketName, ...(this.prefix ? { Prefix: this.prefix } : {}), ...(token ? { ContinuationToken: token } : {}) }),
          { abortSignal: signal },
        );
        for (const o of out.Contents ?? []) {
          if (!o.Key || o.Key.endsWith('/')) continue;
          objects.push({ key: o.Key, etag: o.ETag ?? '', size: o.Size ?? 0 });
        }
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);

      const ignoreFiles: BucketObject[] = [];
      const listed = new Map(objects.map((o) => [o.key, o]));
      for (const key of this.ignoreKeys()) {
        const found = listed.get(key) ?? (key.startsWith(this.prefix) ? undefined : await this.head(key, signal));
        if (found) ignoreFiles.push(found);
      }

      const h = createHash('sha256');
      h.update(JSON.stringify(['tide-bucket-listing/1', this.spec.bucketName, this.target.location, this.prefix, this.spec.ignore ?? '', ignoreFiles]));
      for (const o of objects) h.update(`\n${JSON.stringify([o.key, o.etag])}`);
      return { objects, ignoreFiles, digest: `sha256:${h.digest('hex')}` };
    } catch (err) {
      throw toBucketSourceError(err, this.target);
    }
  }

  async index(listing: BucketListing): Promise<BucketIndex> {
    const signal = this.deadline();
    const sources: PatternSource[] = [];
    for (const f of listing.ignoreFiles) {
      const text = Buffer.from(await this.download(f, signal)).toString('utf8');
      sources.push({ dir: f.key.slice(0, f.key.length - SOURCE_IGNORE_FILE.length), text });
    }
    if (this.spec.ignore) sources.push({ dir: '', text: this.spec.ignore });
    const ignored = ignoreMatcher(sources);
    const ignoreKeys = new Set(this.ignoreKeys());

    const unsafe: Array<{ key: string; problem: string }> = [];
    const objects: BucketObject[] = [];
    for (const o of listing.objects) {
      if (ignoreKeys.has(o.key)) continue;
      const problem = unsafeKey(o.key);
      if (problem) unsafe.push({ key: o.key, problem });
      else if (!ignored(o.key)) objects.push(o);
    }
    if (unsafe.length > 0) {
      const shown = unsafe.slice(0, 3).map((u) => `'${u.key}' ${u.problem}`).join('; ');
      const more = unsafe.length > 3 ? ` (and ${unsafe.length - 3} more)` : '';
      throw new BucketSourceError('UnsafeKey', `${this.target.subject}: bucket '${this.spec.bucketName}' holds object keys Tide refuses to unpack: ${shown}${more}: rename or delete those objects, or narrow spec.prefix`);
    }
    objects.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    return { revision: bucketRevision(objects), objects, bytes: objects.reduce((n, o) => n + o.size, 0) };
  }

  async fetch(index: BucketIndex): Promise<FetchedBucket> {
    const maxBytes = this.spec.maxArtifactBytes ?? DEFAULT_MAX_BUCKET_BYTES;
    if (index.bytes > maxBytes) throw this.tooLarge(index, `its ${index.objects.length} objects hold ${formatBytes(index.bytes)}`, maxBytes);
    const stop = new AbortController();
    const signal = AbortSignal.any([this.deadline(), stop.signal]);
    setMaxListeners(0, signal);
    // Read in the packer's order (code-unit order of the paths), a few ahead of it, so that at
    // most `concurrency` objects are downloading or waiting in memory at a time.
    const order = [...index.objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const ahead = Math.max(1, this.spec.concurrency ?? DEFAULT_FETCH_CONCURRENCY);
    const started = new Map<number, Promise<Uint8Array>>();
    let next = 0;
    const read = (i: number): Promise<Uint8Array> => {
      for (; next < Math.min(order.length, i + ahead); next++) {
        const p = this.download(order[next]!, signal);
        p.catch(() => undefined); // read later, or abandoned when packing stops
        started.set(next, p);
      }
      const p = started.get(i) ?? this.download(order[i]!, signal);
      started.delete(i);
      return p;
    };
    const entries = order.map((o, i): PackEntry => ({ path: o.key, type: 'file', executable: false, read: () => read(i) }));
    try {
      const packed = await packTarball(entries, maxBytes);
      if (!packed.bytes) throw this.tooLarge(index, `its tar.gz is ${formatBytes(packed.size)}`, maxBytes);
      return { revision: index.revision, tarball: packed.bytes, files: entries.length, bytes: index.bytes };
    } finally {
      stop.abort();
    }
  }

  /** A step's timeout; each request in flight listens on it. */
  private deadline(): AbortSignal {
    const signal = AbortSignal.timeout(this.target.timeoutMs);
    setMaxListeners(0, signal);
    return signal;
  }

  /** The .sourceignore objects read: the bucket root's (Flux), and the prefix's when the prefix is a folder. */
  private ignoreKeys(): string[] {
    const keys = [SOURCE_IGNORE_FILE];
    if (this.prefix.endsWith('/')) keys.push(`${this.prefix}${SOURCE_IGNORE_FILE}`);
    return keys;
  }

  /** An object outside the listing (the root .sourceignore under a prefix); absent when not found or not readable. */
  private async head(key: string, signal: AbortSignal): Promise<BucketObject | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.spec.bucketName, Key: key }), { abortSignal: signal });
      return { key, etag: out.ETag ?? '', size: out.ContentLength ?? 0 };
    } catch (err) {
      // 403: a policy that grants only the prefix; the root .sourceignore cannot be read, so it cannot apply.
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404 || status === 403) return undefined;
      throw err;
    }
  }

  /** The object's bytes at the listed version (If-Match: its ETag), so the artifact matches the revision. */
  private async download(o: BucketObject, signal: AbortSignal): Promise<Uint8Array> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.spec.bucketName, Key: o.key, ...(o.etag ? { IfMatch: o.etag } : {}) }),
        { abortSignal: signal },
      );
      const body = out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
      if (body.length !== o.size) {
        throw new BucketSourceError('FetchFailed', `${this.target.subject}: object '${o.key}' of bucket '${this.spec.bucketName}' is ${body.length} bytes, the listing said ${o.size}: it changed while being fetched, and is fetched again at the next interval`);
      }
      return body;
    } catch (err) {
      throw toBucketSourceError(err, this.target, o.key);
    }
  }

  private tooLarge(index: BucketIndex, what: string, maxBytes: number): BucketSourceError {
    return new BucketSourceError('ArtifactTooLarge', `${this.target.subject}: the artifact of bucket '${this.spec.bucketName}' for ${index.revision} is too large: ${what}, over the limit of ${formatBytes(maxBytes)}: add ignore rules (a .sourceignore object or spec.ignore) or narrow spec.prefix to leave out what the cluster does not need`);
  }
}

/**
 * Flux's revision of a Bucket: `sha256:<hex>` of its index, one `<key> <etag>\n` line per object
 * in key order (byte order, as Go sorts strings), the ETag without its quotes (as the MinIO client
 * gives it to source-controller).
 */
export function bucketRevision(objects: readonly BucketObject[]): string {
  const sorted = [...objects].sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  const h = createHash('sha256');
  for (const o of sorted) h.update(`${o.key} ${unquote(o.etag)}\n`);
  return `sha256:${h.digest('hex')}`;
}

/** Why a key cannot become a path inside the artifact, or undefined when it can. */
export function unsafeKey(key: string): string | undefined {
  if (key.startsWith('/')) return 'is an absolute path (escapes the tree)';
  if (key.includes('\0')) return 'holds a NUL character';
  const segments = key.split('/');
  if (segments.includes('..')) return "has a '..' segment (escapes the tree)";
  if (segments.includes('.') || segments.includes('')) return "has an empty or '.' segment (not a clean path)";
  return undefined;
}

function unquote(etag: string): string {
  return etag.length >= 2 && etag.startsWith('"') && etag.endsWith('"') ? etag.slice(1, -1) : etag;
}

function formatBytes(n: number): string {
  const mib = n / (1024 * 1024);
  if (mib >= 1) return `${mib.toFixed(1)} MiB (${n} bytes)`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB (${n} bytes)`;
  return `${n} bytes`;
}
