import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { after, before } from 'node:test';
import { S3BlobStore } from '../../shared/store/index.ts';
import { startMoto, type Moto } from '../rig/moto.ts';
import { storeContract } from './contract.ts';

let moto: Moto;
let client: S3Client;
let n = 0;

before(async () => {
  moto = await startMoto();
  client = new S3Client({ ...moto.clientConfig, forcePathStyle: true });
});
after(async () => {
  client?.destroy();
  await moto?.stop();
});

// Each test gets its own bucket; half of them also a key prefix, as an install may use.
storeContract('S3 store (moto)', async () => {
  const bucket = `tide-state-${++n}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return new S3BlobStore({ client, bucket, prefix: n % 2 ? 'tide/' : '' });
});
