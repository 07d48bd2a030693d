import { mapLimit } from '../util/map-limit.ts';
import type { BlobStore } from './blob.ts';
import { StoreConflictError, StoreCorruptError } from './errors.ts';
import { refFromKey, refKey, areaPrefix, type ObjectRef } from './refs.ts';

/** A record read from the store with the version it was read at. */
export interface Versioned<T> {
  readonly value: T;
  readonly etag: string;
}

/** A list that carries the records it could read and, separately, the ones it could not. */
export interface ListResult<T> {
  readonly items: Array<{ ref: ObjectRef; value: T; etag: string }>;
  readonly errors: StoreCorruptError[];
}

/** Checks a parsed value and says what is wrong with it, or returns undefined when it is fine. */
export type ShapeCheck = (value: unknown) => string | undefined;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON records of one area (objects, status, inventory, ...) keyed by ObjectRef, on any BlobStore.
 * Reads check the shape and name the key when it is wrong; writes may be compare-and-swap.
 */
export class JsonRecords<T> {
  constructor(
    private readonly blobs: BlobStore,
    readonly area: string,
    private readonly check: ShapeCheck,
  ) {}

  key(ref: ObjectRef): string {
    return refKey(this.area, ref);
  }

  async get(ref: ObjectRef): Promise<Versioned<T> | undefined> {
    const key = this.key(ref);
    const blob = await this.blobs.get(key);
    return blob && { value: this.parse(key, blob.body), etag: blob.etag };
  }

  /** Unconditional write. */
  async put(ref: ObjectRef, value: T): Promise<string> {
    return (await this.blobs.put(this.key(ref), encode(value))).etag;
  }

  /**
   * Compare-and-swap: `expected` is the etag the caller read, or null to create only if absent.
   * Throws {@link StoreConflictError} when another writer got there first.
   */
  async swap(ref: ObjectRef, value: T, expected: string | null): Promise<string> {
    const options = expected === null ? { ifNoneMatch: '*' as const } : { ifMatch: expected };
    return (await this.blobs.put(this.key(ref), encode(value), options)).etag;
  }

  /**
   * Read, change, compare-and-swap, retried on a lost race. `change` gets the current value (or
   * undefined) and returns the next one. A corrupt current record is passed as undefined only when
   * `replaceCorrupt` is set; otherwise its error is thrown and nothing is written.
   */
  async update(
    ref: ObjectRef,
    change: (current: T | undefined) => T,
    options: { attempts?: number; replaceCorrupt?: boolean } = {},
  ): Promise<Versioned<T>> {
    const attempts = options.attempts ?? 8;
    const key = this.key(ref);
    for (let i = 1; ; i++) {
      const blob = await this.blobs.get(key);
      let current: T | undefined;
      if (blob) {
        try {
          current = this.parse(key, blob.body);
        } catch (err) {
          if (!(options.replaceCorrupt && err instanceof StoreCorruptError)) throw err;
        }
      }
      const next = change(current);
      try {
        const etag = await this.swap(ref, next, blob ? blob.etag : null);
        return { value: next, etag };
      } catch (err) {
        if (!(err instanceof StoreConflictError) || i >= attempts) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 5 * i));
      }
    }
  }

  async delete(ref: ObjectRef): Promise<void> {
    await this.blobs.delete(this.key(ref));
  }

  /** Every record of the area in one cluster, optionally of one kind. */
  async list(cluster: string, filter: { kind?: string; namespace?: string } = {}): Promise<ListResult<T>> {
    const keys = await this.blobs.list(areaPrefix(cluster, this.area));
    const wanted: Array<{ key: string; ref: ObjectRef }> = [];
    const errors: StoreCorruptError[] = [];
    for (const key of keys) {
      const ref = refFromKey(key);
      if (!ref) {
        errors.push(new StoreCorruptError(key, 'the key is not of the form clusters/<cluster>/<area>/<namespace>/<Kind>/<name>.json'));
        continue;
      }
      if (filter.kind && ref.kind !== filter.kind) continue;
      if (filter.namespace !== undefined && ref.namespace !== filter.namespace) continue;
      wanted.push({ key, ref });
    }
    // Read a few at a time: one GET per record is S3's cost, paid in parallel.
    const read = await mapLimit(wanted, 16, async ({ key, ref }) => {
      const blob = await this.blobs.get(key);
      if (!blob) return undefined; // deleted while listing
      try {
        return { ref, value: this.parse(key, blob.body), etag: blob.etag };
      } catch (err) {
        if (err instanceof StoreCorruptError) return err;
        throw err;
      }
    });
    const items: Array<{ ref: ObjectRef; value: T; etag: string }> = [];
    for (const r of read) {
      if (r instanceof StoreCorruptError) errors.push(r);
      else if (r) items.push(r);
    }
    return { items, errors };
  }

  private parse(key: string, body: Uint8Array): T {
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(body));
    } catch (err) {
      throw new StoreCorruptError(key, body.length === 0 ? 'empty' : `not valid JSON: ${(err as Error).message}`);
    }
    const problem = this.check(value);
    if (problem) throw new StoreCorruptError(key, problem);
    return value as T;
  }
}

export function encode(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** A ShapeCheck for "a JSON object with these fields of these types". */
export function objectWith(fields: Record<string, 'string' | 'number' | 'object' | 'array'>): ShapeCheck {
  return (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
    for (const [field, type] of Object.entries(fields)) {
      const v = (value as Record<string, unknown>)[field];
      const ok = type === 'array' ? Array.isArray(v) : typeof v === type && v !== null && (type !== 'object' || !Array.isArray(v));
      if (!ok) return `field ${field} is missing or not ${type === 'array' ? 'an array' : `a ${type}`}`;
    }
    return undefined;
  };
}
