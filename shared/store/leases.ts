import type { BlobStore } from './blob.ts';
import { StoreConflictError } from './errors.ts';
import { encode } from './json-records.ts';
import { formatRef, refKey, type ObjectRef } from './refs.ts';

/** A lease that is held: keep it to renew or release. */
export interface Lease {
  readonly ref: ObjectRef;
  readonly holder: string;
  readonly expiresAt: number;
  readonly etag: string;
}

export type AcquireResult =
  | { readonly acquired: true; readonly lease: Lease }
  | { readonly acquired: false; readonly holder: string; readonly expiresAt: number };

interface LeaseRecord {
  holder: string;
  acquiredAt: number;
  expiresAt: number;
}

/** A lease lost to another holder, or expired and taken over, before it was renewed or released. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  constructor(readonly ref: ObjectRef, readonly holder: string) {
    super(`lease on ${formatRef(ref)} is no longer held by ${holder}: it expired and was taken over; stop and let the new holder finish`);
  }
}

/**
 * One reconcile of an object at a time. A lease is created with `If-None-Match: *`; a live one is
 * never taken; an expired one (its holder crashed) is taken over with `If-Match` on the ETag read,
 * so of two racing takers exactly one wins. Release writes an expired record with `If-Match`
 * rather than deleting, so that it too is conditional on every store.
 */
export class Leases {
  constructor(
    private readonly blobs: BlobStore,
    private readonly now: () => number = Date.now,
  ) {}

  key(ref: ObjectRef): string {
    return refKey('leases', ref);
  }

  async acquire(ref: ObjectRef, holder: string, ttlMs: number): Promise<AcquireResult> {
    const key = this.key(ref);
    for (let attempt = 0; attempt < 5; attempt++) {
      const record = (): LeaseRecord => ({ holder, acquiredAt: this.now(), expiresAt: this.now() + ttlMs });
      try {
        const rec = record();
        const { etag } = await this.blobs.put(key, encode(rec), { ifNoneMatch: '*' });
        return { acquired: true, lease: { ref, holder, expiresAt: rec.expiresAt, etag } };
      } catch (err) {
        if (!(err instanceof StoreConflictError)) throw err;
      }
      const current = await this.blobs.get(key);
      if (!current) continue; // released by delete in between: try to create again
      const held = parseLease(current.body);
      if (held && held.expiresAt > this.now()) {
        return { acquired: false, holder: held.holder, expiresAt: held.expiresAt };
      }
      // Expired (or unreadable: a lease is only a lock, and a corrupt one must not block forever).
      try {
        const rec = record();
        const { etag } = await this.blobs.put(key, encode(rec), { ifMatch: current.etag });
        return { acquired: true, lease: { ref, holder, expiresAt: rec.expiresAt, etag } };
      } catch (err) {
        if (!(err instanceof StoreConflictError)) throw err;
        // Someone else took it over first; read again to report who.
      }
    }
    const current = await this.blobs.get(key);
    const held = current && parseLease(current.body);
    return { acquired: false, holder: held?.holder ?? 'unknown', expiresAt: held?.expiresAt ?? 0 };
  }

  /** Who holds the lease now, or undefined when nobody does (never held, released, or expired). */
  async holder(ref: ObjectRef): Promise<{ holder: string; expiresAt: number } | undefined> {
    const current = await this.blobs.get(this.key(ref));
    const held = current && parseLease(current.body);
    return held && held.expiresAt > this.now() ? { holder: held.holder, expiresAt: held.expiresAt } : undefined;
  }

  /** Extends a held lease; throws {@link LeaseLostError} when it was taken over. */
  async renew(lease: Lease, ttlMs: number): Promise<Lease> {
    const rec: LeaseRecord = { holder: lease.holder, acquiredAt: this.now(), expiresAt: this.now() + ttlMs };
    try {
      const { etag } = await this.blobs.put(this.key(lease.ref), encode(rec), { ifMatch: lease.etag });
      return { ...lease, expiresAt: rec.expiresAt, etag };
    } catch (err) {
      if (err instanceof StoreConflictError) throw new LeaseLostError(lease.ref, lease.holder);
      throw err;
    }
  }

  /** Gives the lease up. Returns false when it had already been lost (nothing is overwritten then). */
  async release(lease: Lease): Promise<boolean> {
    const rec: LeaseRecord = { holder: lease.holder, acquiredAt: 0, expiresAt: 0 };
    try {
      await this.blobs.put(this.key(lease.ref), encode(rec), { ifMatch: lease.etag });
      return true;
    } catch (err) {
      if (err instanceof StoreConflictError) return false;
      throw err;
    }
  }
}

/** A lease record, or undefined when the bytes are not one (treated as expired by acquire). */
function parseLease(body: Uint8Array): LeaseRecord | undefined {
  try {
    const v = JSON.parse(new TextDecoder().decode(body)) as LeaseRecord;
    if (typeof v?.holder === 'string' && typeof v.expiresAt === 'number') return v;
  } catch {
    // not JSON: unreadable
  }
  return undefined;
}
