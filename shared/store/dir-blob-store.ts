import { createHash, randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
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
 */
export class DirectoryBlobStore implements BlobStore {
  readonly location: string;

  constructor(readonly root: string) {
    this.location = resolve(root);
  }

  async get(key: string): Promise<Blob | undefined> {
    const body = await readIfPresent(this.path(key));
    return body && { body, etag: etagOf(body) };
  }

  async head(key: string): Promise<BlobVersion | undefined> {
    const blob = await this.get(key);
    return blob && { etag: blob.etag };
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<BlobVersion> {
    const file = this.path(key);
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}${TMP_MARK}${randomBytes(6).toString('hex')}`;
    await writeWhole(tmp, body);
    const conditional = options.ifMatch !== undefined || options.ifNoneMatch !== undefined;
    try {
      // An unconditional write is one rename and needs no lock: it is atomic against a reader,
      // another rename and a delete (S3's last-writer-wins).
      if (!conditional) await rename(tmp, file);
      else {
        await withLock(file, async () => {
          const current = await readIfPresent(file);
          if (options.ifNoneMatch === '*' && current) throw new StoreConflictError(key, 'it already exists');
          if (options.ifMatch !== undefined) {
            if (!current) throw new StoreConflictError(key, 'it no longer exists');
            if (etagOf(current) !== options.ifMatch) throw new StoreConflictError(key);
          }
          await rename(tmp, file);
        });
      }
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return { etag: etagOf(body) };
  }

  async delete(key: string): Promise<void> {
    const file = this.path(key);
    await withLock(file, () => rm(file, { force: true })).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  async list(prefix: string): Promise<string[]> {
    // Walk only the deepest directory the prefix names.
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/') + 1) : '';
    const base = this.path(dirPart || '.');
    let entries: Dirent[];
    try {
      entries = await readdir(base, { recursive: true, withFileTypes: true });
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

async function readIfPresent(file: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

// No fsync: rename-over-existing is ordered after the data on ext4 (auto_da_alloc) and local mode
// is a developer's store; a torn file after a power cut is still caught as corrupt, by key.
async function writeWhole(file: string, body: Uint8Array): Promise<void> {
  await writeFile(file, body);
}

/** Runs `fn` holding `<file>.lock`, created with O_EXCL; a lock left by a crashed writer is broken. */
async function withLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const lock = file + LOCK_SUFFIX;
  const token = `${process.pid}:${randomBytes(6).toString('hex')}`;
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(lock, 'wx');
      await fh.writeFile(token);
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const s = await stat(lock).catch(() => undefined);
      if (s && Date.now() - s.mtimeMs > STALE_LOCK_MS) await unlink(lock).catch(() => undefined);
      await new Promise((r) => setTimeout(r, Math.min(1 + attempt, 20) * Math.random()));
    }
  }
  try {
    return await fn();
  } finally {
    // Remove the lock only if it is still ours (a stale-lock breaker may have replaced it).
    const held = await readFile(lock, 'utf8').catch(() => undefined);
    if (held === token) await unlink(lock).catch(() => undefined);
  }
}
