// Child of apply.bench.ts, bundled by esbuild and run with plain node: Tide's apply engine alone,
// so its peak RSS is what a Lambda function applying this set would need.
import { applyAll, summarize } from '../shared/apply/index.ts';
import { clusterFromKubeconfigFile } from '../shared/kube/kubeconfig.ts';
import { objects, ownerLabels } from './apply-set.ts';

const cluster = clusterFromKubeconfigFile('bench', process.env.TIDE_BENCH_KUBECONFIG!);
const base = process.memoryUsage().rss;
let inventory = (await applyAll(cluster, objects(1000), { ownerLabels })).inventory;
inventory = (await applyAll(cluster, objects(1000), { ownerLabels, previous: inventory })).inventory;
const result = await applyAll(cluster, objects(1001), { ownerLabels, previous: inventory });
cluster.client.close();
console.log(
  `memory: Tide's process (bundled, plain node) peaked at ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB RSS applying 1000 objects ` +
    `three times (last: ${summarize(result.changeSet)}); ${(base / 1048576).toFixed(0)} MB was Node and the loaded modules before any work; target < 256 MB`,
);
process.exit(0);
