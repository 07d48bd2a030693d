import type { BlobStore } from './blob.ts';
import { Artifacts } from './artifacts.ts';
import { JsonRecords, objectWith } from './json-records.ts';
import { Leases } from './leases.ts';
import type { Inventory, KubeObject, ObjectStatus } from './types.ts';

/**
 * Tide's state, on one BlobStore (a directory locally, an S3 bucket on AWS), all under the
 * cluster's name:
 * - `objects`   the desired spec of each control object, as registered;
 * - `status`    conditions and revisions, written compare-and-swap;
 * - `inventory` what a Kustomization applied, written compare-and-swap;
 * - `leases`    one reconcile of an object at a time;
 * - `artifacts` content-addressed source artifacts.
 */
export class StateStore {
  readonly objects: JsonRecords<KubeObject>;
  readonly status: JsonRecords<ObjectStatus>;
  readonly inventory: JsonRecords<Inventory>;
  readonly leases: Leases;
  readonly artifacts: Artifacts;

  constructor(readonly blobs: BlobStore, options: { now?: () => number } = {}) {
    this.objects = new JsonRecords(blobs, 'objects', objectWith({ apiVersion: 'string', kind: 'string', metadata: 'object' }));
    this.status = new JsonRecords(blobs, 'status', objectWith({ conditions: 'array' }));
    this.inventory = new JsonRecords(blobs, 'inventory', objectWith({ entries: 'array' }));
    this.leases = new Leases(blobs, options.now);
    this.artifacts = new Artifacts(blobs);
  }

  /** The clusters that have any state. */
  async clusters(): Promise<string[]> {
    const keys = await this.blobs.list('clusters/');
    return [...new Set(keys.map((k) => k.split('/')[1]).filter((c): c is string => !!c))].sort();
  }
}
