import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { DirectoryBlobStore } from '../../shared/store/index.ts';
import { storeContract } from './contract.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

storeContract('directory store', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tide-store-'));
  dirs.push(dir);
  return new DirectoryBlobStore(dir);
});

describe('directory store: paths', () => {
  it('refuses a key that escapes the directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tide-store-'));
    dirs.push(dir);
    const blobs = new DirectoryBlobStore(dir);
    await assert.rejects(blobs.put('../outside', new Uint8Array([1])), /escapes the store directory/);
    await assert.rejects(blobs.get('/etc/passwd'), /escapes the store directory/);
  });

  it('does not list its lock and temporary files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tide-store-'));
    dirs.push(dir);
    const blobs = new DirectoryBlobStore(dir);
    await Promise.all(Array.from({ length: 20 }, (_, i) => blobs.put(`a/k${i % 3}`, new Uint8Array([i]))));
    assert.deepEqual(await blobs.list('a/'), ['a/k0', 'a/k1', 'a/k2']);
    assert.deepEqual(await blobs.list('a/k1'), ['a/k1']);
    assert.deepEqual(await blobs.list('nothing/'), []);
  });
});
