import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DirectoryBlobStore, StateStore } from '../../shared/store/index.ts';

// moto checks a condition and then writes with no atomic guard, so racing writers are tested
// here, on the directory store, with separate processes as well as concurrent promises.
const worker = fileURLToPath(new URL('./race-worker.ts', import.meta.url));
const WORKERS = 6;
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempStore() {
  const dir = await mkdtemp(join(tmpdir(), 'tide-race-'));
  dirs.push(dir);
  return { dir, store: new StateStore(new DirectoryBlobStore(dir)) };
}

/** Runs WORKERS processes released at one moment; returns what each printed last. */
async function race(dir: string, mode: string, rounds: number): Promise<Array<{ id: string; won: number[] }>> {
  const children = Array.from({ length: WORKERS }, (_, id) =>
    spawn(process.execPath, ['--import', 'tsx', worker, dir, mode, String(id), String(rounds)], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  const outputs = children.map((c) => {
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    return {
      ready: new Promise<void>((r) => c.stdout.once('data', () => r())),
      done: new Promise<string>((resolve, reject) =>
        c.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`race worker exited ${code}`)))),
      ),
    };
  });
  await Promise.all(outputs.map((o) => o.ready));
  for (const c of children) c.stdin.end('go\n');
  const results = await Promise.all(outputs.map((o) => o.done));
  return results.map((r) => JSON.parse(r.trim().split('\n').pop()!));
}

describe('directory store: racing writers', () => {
  it('exactly one of six processes acquires each fresh lease (200 leases)', async () => {
    const { dir } = await tempStore();
    const results = await race(dir, 'lease', 200);
    const winners = new Map<number, number>();
    for (const r of results) for (const i of r.won) winners.set(i, (winners.get(i) ?? 0) + 1);
    assert.equal(winners.size, 200, 'every lease was acquired by someone');
    assert.deepEqual([...new Set(winners.values())], [1], 'and by exactly one');
    assert.ok(results.filter((r) => r.won.length > 0).length > 1, 'the race was real: more than one process won some');
  });

  it('exactly one of six processes takes over each expired lease (200 leases)', async () => {
    const { dir } = await tempStore();
    let now = 0;
    const past = new StateStore(new DirectoryBlobStore(dir), { now: () => now });
    for (let i = 0; i < 200; i++) {
      const r = await past.leases.acquire({ cluster: 'race', namespace: 'ns', kind: 'Kustomization', name: `k${i}` }, 'crashed', 1_000);
      assert.ok(r.acquired);
    }
    now = Date.now();
    const results = await race(dir, 'takeover', 200);
    const counts = new Map<number, number>();
    for (const r of results) for (const i of r.won) counts.set(i, (counts.get(i) ?? 0) + 1);
    assert.equal(counts.size, 200);
    assert.deepEqual([...new Set(counts.values())], [1]);
  });

  it('compare-and-swap loses no update: six processes add 50 each', async () => {
    const { dir, store } = await tempStore();
    await race(dir, 'counter', 50);
    const final = await store.status.get({ cluster: 'race', namespace: 'ns', kind: 'Kustomization', name: 'k0' });
    assert.equal(final?.value.count, WORKERS * 50);
  });

  it('concurrent swaps on one etag in one process: exactly one wins, 100 times', async () => {
    const { store } = await tempStore();
    for (let round = 0; round < 100; round++) {
      const ref = { cluster: 'race', namespace: 'ns', kind: 'Kustomization', name: `r${round}` };
      const etag = await store.status.swap(ref, { conditions: [] }, null);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => store.status.swap(ref, { conditions: [], writer: i }, etag)),
      );
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1, `round ${round}`);
      for (const o of outcomes) if (o.status === 'rejected') assert.equal((o.reason as Error).name, 'StoreConflictError');
    }
  });
});
