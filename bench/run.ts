// npm run bench [-- name]: runs each bench/*.bench.ts in its own process (so each reports its own
// peak memory), one after another.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const benches = readdirSync(here).filter((f) => f.endsWith('.bench.ts') && (!filter || f.includes(filter))).sort();
let failed = 0;
for (const b of benches) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, b)], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`${b} failed (exit ${r.status})`);
  }
}
process.exit(failed ? 1 : 0);
