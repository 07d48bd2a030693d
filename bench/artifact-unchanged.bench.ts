// An unchanged revision must cost (almost) nothing: storing an artifact whose digest is already
// in S3 is one HEAD. Baseline: a raw PutObject of the same bytes each time, as a naive uploader does.
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3BlobStore, StateStore } from '../shared/store/index.ts';
import { startMoto } from '../test/rig/moto.ts';
import { compare, report, time } from './measure.ts';

const SIZE = 4 << 20;
const OPS = 20;
const moto = await startMoto();
const client = new S3Client({ ...moto.clientConfig, forcePathStyle: true });
try {
  await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
  const store = new StateStore(new S3BlobStore({ client, bucket: 'bench' }));
  const ref = { cluster: 'bench', namespace: 'flux-system', kind: 'GitRepository', name: 'fleet' };
  const bytes = randomBytes(SIZE);
  const first = await store.artifacts.put(ref, bytes);
  const result = await compare(
    3,
    () => time(OPS, async () => {
      const out = await store.artifacts.put(ref, bytes);
      if (out.uploaded) throw new Error('an unchanged artifact was uploaded again');
    }),
    () => time(OPS, () => client.send(new PutObjectCommand({ Bucket: 'bench', Key: first.key, Body: bytes }))),
  );
  report('artifact unchanged (4 MiB, moto S3)', 'Tide artifacts.put', 'raw PutObject', result);
} finally {
  client.destroy();
  await moto.stop();
}
