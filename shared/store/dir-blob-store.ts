import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync, type Dirent } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Blob, BlobStore, BlobVersion, PutOptions } from './blob.ts';
import { StoreConflictError } from './errors.ts';

/** A lock older than this was left by a crashed writer: a critical section takes microseconds. */
const STALE_LOCK_MS = 10_000;
const LOCK_SUFFIX = '.lock';
const TMP_MARK = '.tmp-';

/**
 * Blobs as files under a directory, for `tide local`. Writes go to a temporary file and are renamed
 * into place, so a reader sees a whole old or a whole new file. Conditional writes hold a per-key
 * lock file created with O_EXCL (atomic across processes) for the read-compare-rename, so two
 * writers racing on one ETag cannot both win. The ETag is the content's sha256.
 *
 * The file calls are synchronous, behind the async interface: records are small files on a local
 * disk, where a synchronous read costs about 20 µs of CPU and a promise-based one (open, stat,
 * read, close, each through the thread pool) about 150 µs; tide local makes tens of thousands of
 * them for a fleet. The event loop is held for the length of one small file operation.
 */
export class DirectoryBlobStore implements BlobStore {
  readonly location: string;

  constructor(readonly root: string) {
    this.location = resolve(root);
  }

  async get(key: string): Promise<Blob | undefined> {
    const body = readIfPresent(this.path(key));
    return body && { body, etag: etagOf(body) };
  }

  async head(key: string): Promise<BlobVersion | undefined> {
    const blob = await this.get(key);
    return blob && { etag: blob.etag };
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<BlobVersion> {
    const file = this.path(key);
    const tmp = `${file}${TMP_MARK}${randomBytes(6).toString('hex')}`;
    // The directory almost always exists: create it only when the write says it does not.
    try {
      writeWhole(tmp, body);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(dirname(file), { recursive: true });
      writeWhole(tmp, body);
    }
    const conditional = options.ifMatch !== undefined || options.ifNoneMatch !== undefined;
    try {
      // An unconditional write is one rename and needs no lock: it is atomic against a reader,
      // another rename and a delete (S3's last-writer-wins).
      if (!conditional) renameSync(tmp, file);
      else {
        await withLock(file, () => {
          const current = readIfPresent(file);
          if (options.ifNoneMatch === '*' && current) throw new StoreConflictError(key, 'it already exists');
          if (options.ifMatch !== undefined) {
            if (!current) throw new StoreConflictError(key, 'it no longer exists');
            if (etagOf(current) !== options.ifMatch) throw new StoreConflictError(key);
          }
          renameSync(tmp, file);
        });
      }
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    return { etag: etagOf(body) };
  }

  async delete(key: string): Promise<void> {
    const file = this.path(key);
    try {
      await withLock(file, () => rmSync(file, { force: true }));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    // Walk only the deepest directory the prefix names.
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/') + 1) : '';
    const base = this.path(dirPart || '.');
    let entries: Dirent[];
    try {
      entries = readdirSync(base, { recursive: true, withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
      throw err;
    }
    const keys: string[] = [];
    for (const entry of entries) {
      if (!entry.isFile() || !isBlobFileName(entry.name)) continue;
      const key = relative(this.location, join(entry.parentPath ?? entry.path, entry.name)).split(sep).join('/');
      if (key.startsWith(prefix)) keys.push(key);
    }
    return keys.sort();
  }

  private path(key: string): string {
    const file = resolve(this.location, key);
    const rel = relative(this.location, file);
    if (rel.startsWith('..') || key.includes('\0') || (key !== '.' && rel === '')) {
      throw new Error(`store: key ${JSON.stringify(key)} escapes the store directory ${this.location}`);
    }
    return file;
  }
}

/** Whether a file in the store directory holds a blob, rather than being a writer's lock or temporary file. */
export function isBlobFileName(name: string): boolean {
  return !name.endsWith(LOCK_SUFFIX) && !name.includes(TMP_MARK);
}

export function etagOf(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

function readIfPresent(file: string): Uint8Array | undefined {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

// No fsync: rename-over-existing is ordered after the data on ext4 (auto_da_alloc) and local mode
// is a developer's store; a torn file after a power cut is still caught as corrupt, by key.
function writeWhole(file: string, body: Uint8Array): void {
  writeFileSync(file, body);
}

/** Runs `fn` holding `<file>.lock`, created with O_EXCL; a lock left by a crashed writer is broken. */
async function withLock<T>(file: string, fn: () => T): Promise<T> {
  const lock = file + LOCK_SUFFIX;
  const token = `${process.pid}:${randomBytes(6).toString('hex')}`;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      try {
        writeSync(fd, token);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const mtime = statIfPresent(lock)?.mtimeMs;
      if (mtime !== undefined && Date.now() - mtime > STALE_LOCK_MS) unlinkQuietly(lock);
      await new Promise((r) => setTimeout(r, Math.min(1 + attempt, 20) * Math.random()));
    }
  }
  try {
    return fn();
  } finally {
    // Remove the lock only if it is still ours (a stale-lock breaker may have replaced it).
    let held: string | undefined;
    try {
      held = readFileSync(lock, 'utf8');
    } catch {
      held = undefined;
    }
    if (held === token) unlinkQuietly(lock);
  }
}

function statIfPresent(path: string): { mtimeMs: number } | undefined {
  return statSync(path, { throwIfNoEntry: false });
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
