// Each function's bundle size and cold init (module load until `handler` is ready), against a
// baseline handler that only imports the AWS SDK clients that function uses, bundled the same way.
// Targets: < 1 MB per bundle without the kubectl layer, init < 400 ms.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
// Bundled as the CDK stack bundles them (cdk/constructs/tide-function.ts).
import { BUNDLE_BANNER, NATIVE_EXTERNALS } from '../cdk/constructs/tide-function.ts';

const run = promisify(execFile);
const ROUNDS = 7;
const CLIENTS: Record<string, string[]> = {
  receiver: ['client-s3:S3Client', 'client-eventbridge:EventBridgeClient', 'client-secrets-manager:SecretsManagerClient'],
  scheduler: ['client-s3:S3Client', 'client-eventbridge:EventBridgeClient'],
  source: ['client-s3:S3Client', 'client-eventbridge:EventBridgeClient', 'client-secrets-manager:SecretsManagerClient', 'client-sqs:SQSClient'],
  reconcile: ['client-s3:S3Client', 'client-eventbridge:EventBridgeClient', 'client-secrets-manager:SecretsManagerClient', 'client-sqs:SQSClient', 'client-sts:STSClient', 'client-eks:EKSClient'],
};

const dir = await mkdtemp(join(tmpdir(), 'tide-bench-fn-'));
const bundle = async (entry: string, out: string) => {
  await build({ entryPoints: [entry], outfile: out, bundle: true, platform: 'node', target: 'node20', format: 'esm', minify: true, banner: { js: BUNDLE_BANNER }, logLevel: 'error', mainFields: ['module', 'main'], external: [...NATIVE_EXTERNALS], nodePaths: [join(process.cwd(), 'node_modules')] });
  return (await stat(out)).size;
};
/** Median ms from import() start until the module (and its handler) is loaded, each in a fresh node. */
const init = async (file: string) => {
  const samples: Array<{ ms: number; rssMb: number }> = [];
  for (let i = 0; i < ROUNDS; i++) {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e',
      `const t=performance.now(); const m=await import(${JSON.stringify(file)}); if (typeof m.handler!=='function') throw new Error('no handler'); console.log(JSON.stringify({ms: performance.now()-t, rssMb: process.resourceUsage().maxRSS/1024}))`]);
    samples.push(JSON.parse(stdout) as { ms: number; rssMb: number });
  }
  samples.sort((a, b) => a.ms - b.ms);
  return samples[Math.floor(samples.length / 2)]!;
};

try {
  for (const [fn, clients] of Object.entries(CLIENTS)) {
    const baselineSrc = join(dir, `${fn}-baseline.ts`);
    await writeFile(baselineSrc, clients.map((c, i) => `import { ${c.split(':')[1]} as C${i} } from '@aws-sdk/${c.split(':')[0]}';`).join('\n') +
      `\nexport const handler = async () => [${clients.map((_, i) => `new C${i}({})`).join(', ')}].length;\n`);
    const tideSize = await bundle(join(process.cwd(), 'functions', fn, 'handler.ts'), join(dir, `${fn}.mjs`));
    const baseSize = await bundle(baselineSrc, join(dir, `${fn}-baseline.mjs`));
    // Alternate, so drift on a shared machine hits both alike.
    const base = await init(join(dir, `${fn}-baseline.mjs`));
    const tide = await init(join(dir, `${fn}.mjs`));
    console.log(`function ${fn}: init ${(tide.ms / base.ms).toFixed(2)}x the baseline` +
      ` | Tide ${(tideSize / 1024).toFixed(0)} KiB, init ${tide.ms.toFixed(0)} ms, RSS ${tide.rssMb.toFixed(0)} MB` +
      ` | SDK-clients-only baseline ${(baseSize / 1024).toFixed(0)} KiB, init ${base.ms.toFixed(0)} ms, RSS ${base.rssMb.toFixed(0)} MB` +
      ` | targets: < 1024 KiB ${tideSize < 1 << 20 ? 'met' : 'NOT met'}, init < 400 ms ${tide.ms < 400 ? 'met' : 'NOT met'} (median of ${ROUNDS}, node ${process.version})`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
