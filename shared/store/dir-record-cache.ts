import type { BigIntStats, Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { mapLimit } from '../util/map-limit.ts';
import { isBlobFileName } from './dir-blob-store.ts';
import { StoreCorruptError } from './errors.ts';
import type { JsonRecords, ListResult } from './json-records.ts';
import { areaPrefix, refFromKey, type ObjectRef } from './refs.ts';

/**
 * A directory entry's times newer than this before it was looked at may still change without its
 * times changing (a file system stamps times with a coarse clock: jiffies on Linux, whole seconds
 * or two on others), so such an entry is looked at again next time however its times read.
 */
const SETTLE_MS = 2_000;

const BAD_KEY = 'the key is not of the form clusters/<cluster>/<area>/<namespace>/<Kind>/<name>.json';

/**
 * What a stat said of a directory or a file: identity, size and both times to the nanosecond, and
 * whether they had settled (newest time at least SETTLE_MS before the stat).
 */
interface Seen {
  readonly stamp: string;
  readonly settled: boolean;
}

/** A directory's own entries, as last read. */
interface Listing {
  readonly seen: Seen;
  readonly dirs: readonly string[];
  readonly files: readonly string[];
}

interface FileNode<T> {
  readonly seen: Seen;
  readonly key: string;
  readonly ref: ObjectRef | undefined;
  readonly item?: { ref: ObjectRef; value: T; etag: string };
  readonly error?: StoreCorruptError;
}

/** Depth 0: the area of a cluster (namespaces in it); 1: a namespace (kinds); 2: a kind (record files). */
interface DirNode<T> {
  readonly listing: Listing;
  readonly dirs: Map<string, DirNode<T>>;
  readonly files: Map<string, FileNode<T>>;
  /** Of a kind directory: its listing and every file's stamp had settled, so all of it can be kept as is. */
  readonly settled: boolean;
}

const RECORD_DEPTH = 2;

/** Whether a list looks at the child directory `name` of a directory at `depth`. */
type Wanted = (depth: number, name: string) => boolean;

/**
 * The records of one area (the registered objects) of a {@link DirectoryBlobStore}, parsed once and
 * kept, for `tide local`, which lists them every tick. A list stats the directories of the area
 * (`<area>/<namespace>/<Kind>/`) and reads a directory's records again only when the directory
 * changed; of those, only the files whose stat changed. Nothing is read when nothing changed.
 *
 * Why a directory's times show every change to its records: the directory store writes a record
 * as a temporary file in the record's directory renamed over the record, and deletes by unlinking
 * (conditional writes also create and unlink a lock file there). Each of these changes the
 * directory's entries, so the kernel sets its mtime and ctime; creating a kind or namespace
 * directory does the same to its parent. This holds for other processes writing the same
 * directory (`tide bootstrap`, `tide reconcile`, `tide suspend`). It does not hold for a file
 * edited in place by hand: only writes through the store are seen.
 *
 * Why a stamp seen unchanged can be trusted: each directory and file is stat'ed before it is read,
 * so a change after the read shows in a later stat, unless it fell into the same tick of the file
 * system's clock as the stamp read. Stamps are compared to the nanosecond (`bigint` stats, with
 * inode, size, mtime and ctime), and a stamp that was not yet SETTLE_MS old when read is not
 * trusted: that entry is read again at every list until it is.
 *
 * The values returned are shared between lists: callers must not change them.
 */
export class DirectoryRecordCache<T> {
  private readonly trees = new Map<string, DirNode<T>>();
  private readonly settleMs: number;
  private readonly now: () => number;

  constructor(
    /** The directory of the DirectoryBlobStore the records live in. */
    private readonly root: string,
    /** How a record is read and checked: its reads go through the store's BlobStore. */
    private readonly records: JsonRecords<T>,
    options: { settleMs?: number; now?: () => number } = {},
  ) {
    this.settleMs = options.settleMs ?? SETTLE_MS;
    this.now = options.now ?? Date.now;
  }

  /**
   * As {@link JsonRecords.list}: every record of the area in one cluster, optionally of one kind or
   * namespace, in key order, with the corrupt ones as errors. One difference: with a kind, a file
   * in another kind's directory whose name is no object's is not reported.
   */
  async list(cluster: string, filter: { kind?: string; namespace?: string } = {}): Promise<ListResult<T>> {
    const prefix = areaPrefix(cluster, this.records.area);
    // Of one kind: the other kinds' directories are neither looked at nor listed (kept as they were).
    const wanted = (depth: number, name: string) => depth !== RECORD_DEPTH - 1 || !filter.kind || name === filter.kind;
    const tree = await this.refreshDir(join(this.root, ...prefix.split('/').filter(Boolean)), prefix, 0, this.trees.get(cluster), wanted);
    if (tree) this.trees.set(cluster, tree);
    else this.trees.delete(cluster);
    const files: Array<FileNode<T>> = [];
    const errors: StoreCorruptError[] = [];
    if (tree) collect(tree, prefix, 0, wanted, files, errors);
    // In key order, as JsonRecords.list returns them.
    files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const items: ListResult<T>['items'] = [];
    for (const file of files) {
      if (file.ref && ((filter.kind && file.ref.kind !== filter.kind) || (filter.namespace !== undefined && file.ref.namespace !== filter.namespace))) continue;
      if (file.item) items.push(file.item);
      else if (file.error) errors.push(file.error);
    }
    return { items, errors };
  }

  private async refreshDir(
    path: string,
    key: string,
    depth: number,
    prev: DirNode<T> | undefined,
    wanted: Wanted,
  ): Promise<DirNode<T> | undefined> {
    const listed = await this.listing(path, prev?.listing);
    if (!listed) return undefined;
    const { listing, changed } = listed;
    if (depth === RECORD_DEPTH && !changed && prev?.settled) return prev;
    const node = { listing, dirs: new Map<string, DirNode<T>>(), files: new Map<string, FileNode<T>>(), settled: listing.seen.settled };
    if (depth < RECORD_DEPTH) {
      // A change below this directory does not show in its times: every (wanted) child is looked at.
      const children = await Promise.all(
        listing.dirs.map(async (name) => {
          const before = prev?.dirs.get(name);
          return [name, wanted(depth, name) ? await this.refreshDir(join(path, name), `${key}${name}/`, depth + 1, before, wanted) : before] as const;
        }),
      );
      for (const [name, child] of children) if (child) node.dirs.set(name, child);
      return node;
    }
    const files = await mapLimit(listing.files, 16, async (name) => {
      const before = prev?.files.get(name);
      // The directory is unchanged, so is which files it holds: only a file not yet settled is looked at again.
      if (!changed && before?.seen.settled) return before;
      return this.refreshFile(join(path, name), key + name, before);
    });
    for (const [i, file] of files.entries()) {
      if (!file) continue;
      node.files.set(listing.files[i]!, file);
      node.settled &&= file.seen.settled;
    }
    return node;
  }

  /** The directory's entries: the ones kept when its stamp is unchanged and settled, else read again. */
  private async listing(path: string, prev: Listing | undefined): Promise<{ listing: Listing; changed: boolean } | undefined> {
    const seen = await this.stat(path);
    if (!seen?.dir) return undefined;
    if (prev && prev.seen.settled && prev.seen.stamp === seen.stamp) return { listing: prev, changed: false };
    let entries: Dirent[];
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch (err) {
      if (isGone(err)) return undefined;
      throw err;
    }
    const dirs: string[] = [];
    const files: string[] = [];
    for (const e of entries) {
      if (e.isDirectory()) dirs.push(e.name);
      else if (e.isFile() && isBlobFileName(e.name)) files.push(e.name);
    }
    return { listing: { seen: { stamp: seen.stamp, settled: seen.settled }, dirs: dirs.sort(), files: files.sort() }, changed: true };
  }

  /** A record file: kept when its stamp is unchanged and settled, else read (after the stat) and parsed. */
  private async refreshFile(path: string, key: string, prev: FileNode<T> | undefined): Promise<FileNode<T> | undefined> {
    const s = await this.stat(path);
    if (!s || s.dir) return undefined;
    const seen: Seen = { stamp: s.stamp, settled: s.settled };
    if (prev && prev.seen.settled && prev.seen.stamp === seen.stamp) return prev;
    const ref = refFromKey(key);
    if (!ref) return { seen, key, ref, error: new StoreCorruptError(key, BAD_KEY) };
    try {
      const read = await this.records.get(ref);
      // Deleted since the stat: the deletion changed the directory, which is listed again next time.
      if (!read) return undefined;
      return { seen, key, ref, item: { ref, value: read.value, etag: read.etag } };
    } catch (err) {
      if (err instanceof StoreCorruptError) return { seen, key, ref, error: err };
      throw err;
    }
  }

  private async stat(path: string): Promise<(Seen & { dir: boolean }) | undefined> {
    // The clock is read before the stat: a change after the stat is stamped no earlier than this.
    const before = BigInt(this.now() - this.settleMs) * 1_000_000n;
    let s: BigIntStats;
    try {
      s = await stat(path, { bigint: true });
    } catch (err) {
      if (isGone(err)) return undefined;
      throw err;
    }
    const newest = s.mtimeNs > s.ctimeNs ? s.mtimeNs : s.ctimeNs;
    return { stamp: `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`, settled: newest <= before, dir: s.isDirectory() };
  }
}

function collect<T>(
  node: DirNode<T>,
  key: string,
  depth: number,
  wanted: Wanted,
  files: Array<FileNode<T>>,
  errors: StoreCorruptError[],
): void {
  if (depth < RECORD_DEPTH) {
    // A file where a namespace or kind directory belongs, as JsonRecords.list reports it.
    for (const name of node.listing.files) errors.push(new StoreCorruptError(key + name, BAD_KEY));
    for (const [name, child] of node.dirs) if (wanted(depth, name)) collect(child, `${key}${name}/`, depth + 1, wanted, files, errors);
    return;
  }
  for (const name of node.listing.dirs) errors.push(new StoreCorruptError(`${key}${name}/`, `a directory where records are expected; ${BAD_KEY}`));
  files.push(...node.files.values());
}

function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
