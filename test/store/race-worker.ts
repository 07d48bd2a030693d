// One racer for races.test.ts: a separate process hammering the same directory store.
// argv: <root> <mode: lease|takeover|counter> <worker-id> <rounds>
import { DirectoryBlobStore, StateStore } from '../../shared/store/index.ts';

const [root, mode, id, roundsArg] = process.argv.slice(2) as [string, string, string, string];
const rounds = Number(roundsArg);
const store = new StateStore(new DirectoryBlobStore(root));
const ref = (i: number) => ({ cluster: 'race', namespace: 'ns', kind: 'Kustomization', name: `k${i}` });
const won: number[] = [];

// Start together: wait for the go file the parent writes once every worker is up.
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));

if (mode === 'lease' || mode === 'takeover') {
  // Each racer walks the keys in its own random order, so they collide all over the range.
  const order = Array.from({ length: rounds }, (_, i) => i).sort(() => Math.random() - 0.5);
  for (const i of order) {
    const r = await store.leases.acquire(ref(i), `worker-${id}`, 600_000);
    if (r.acquired) won.push(i);
  }
} else if (mode === 'counter') {
  for (let i = 0; i < rounds; i++) {
    await store.status.update(ref(0), (cur) => ({ conditions: [], count: ((cur?.count as number) ?? 0) + 1 }), { attempts: 1000 });
  }
}
process.stdout.write(JSON.stringify({ id, won }) + '\n');
