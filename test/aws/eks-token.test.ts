import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { decodeEksToken, eksToken, stsEndpoint, type AwsCredentials } from '../../shared/aws/eks-token.ts';
import { getCallerIdentity, verifyEksToken } from '../rig/iam-authenticator.ts';
import { motoServerPath, startMoto, type Moto } from '../rig/moto.ts';

/**
 * What `aws eks get-token` does (awscli/customizations/eks/get_token.py), with botocore from the
 * rig's moto virtualenv and the clock fixed: presign GetCallerIdentity for 60 s with the
 * x-k8s-aws-id header injected before signing.
 */
const GET_TOKEN_PY = `
import sys, json, datetime, base64
import botocore.session, botocore.auth
a = json.loads(sys.argv[1])
fixed = datetime.datetime.fromtimestamp(a['now'] / 1000, datetime.timezone.utc).replace(tzinfo=None)
botocore.auth.get_current_datetime = lambda remove_tzinfo=True: fixed
c = botocore.session.get_session().create_client('sts', region_name=a['region'], endpoint_url=a['endpoint'],
    aws_access_key_id=a['accessKeyId'], aws_secret_access_key=a['secretAccessKey'], aws_session_token=a['sessionToken'])
H = 'x-k8s-aws-id'
def retrieve(params, context, **kw):
    if H in params: context[H] = params.pop(H)
def inject(request, **kw):
    if H in request.context: request.headers[H] = request.context[H]
c.meta.events.register('provide-client-params.sts.GetCallerIdentity', retrieve)
c.meta.events.register('before-sign.sts.GetCallerIdentity', inject)
url = c.generate_presigned_url('get_caller_identity', Params={H: a['cluster']}, ExpiresIn=60, HttpMethod='GET')
print('k8s-aws-v1.' + base64.urlsafe_b64encode(url.encode()).decode().rstrip('='))
`;

let moto: Moto;
let sts: STSClient;
let role: AwsCredentials;
const roleArn = 'arn:aws:iam::123456789012:role/tide-deployer';

before(async () => {
  moto = await startMoto();
  sts = new STSClient(moto.clientConfig);
  const out = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'tide-test' }));
  const c = out.Credentials!;
  role = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken!, expiration: c.Expiration! };
});
after(async () => {
  sts?.destroy();
  await moto?.stop();
});

describe('eksToken', () => {
  test('is k8s-aws-v1. + base64url without padding of a presigned GetCallerIdentity, x-k8s-aws-id signed', async () => {
    const now = Date.UTC(2030, 0, 2, 3, 4, 5);
    const { token, expiresAt } = await eksToken({ clusterName: 'prod', region: 'us-east-1', credentials: role, endpoint: moto.endpoint, now: () => now });
    assert.ok(token.startsWith('k8s-aws-v1.'));
    assert.match(token.slice('k8s-aws-v1.'.length), /^[A-Za-z0-9_-]+$/, 'base64url alphabet, no = padding');
    assert.equal(expiresAt, now + 14 * 60_000);

    const url = decodeEksToken(token);
    assert.equal(url.origin, moto.endpoint);
    assert.equal(url.pathname, '/');
    const q = url.searchParams;
    assert.equal(q.get('Action'), 'GetCallerIdentity');
    assert.equal(q.get('Version'), '2011-06-15');
    assert.equal(q.get('X-Amz-Algorithm'), 'AWS4-HMAC-SHA256');
    assert.equal(q.get('X-Amz-Expires'), '60');
    assert.equal(q.get('X-Amz-Date'), '20300102T030405Z');
    assert.equal(q.get('X-Amz-Credential'), `${role.accessKeyId}/20300102/us-east-1/sts/aws4_request`);
    assert.equal(q.get('X-Amz-Security-Token'), role.sessionToken);
    assert.deepEqual(q.get('X-Amz-SignedHeaders')?.split(';'), ['host', 'x-k8s-aws-id']);
    assert.match(q.get('X-Amz-Signature') ?? '', /^[0-9a-f]{64}$/);
    // The cluster's name travels only inside the signature, never in the URL.
    assert.ok(!url.href.includes('prod'));
  });

  test('moto answers the URL with the assumed role; the signature holds only for the cluster it names', async () => {
    const { token } = await eksToken({ clusterName: 'prod', region: 'us-east-1', credentials: role, endpoint: moto.endpoint });
    const url = await verifyEksToken(token, { clusterId: 'prod', stsEndpoint: moto.endpoint });
    const who = await getCallerIdentity(url, 'prod');
    assert.equal(who.arn, 'arn:aws:sts::123456789012:assumed-role/tide-deployer/tide-test');
    assert.equal(who.account, '123456789012');

    await assert.rejects(verifyEksToken(token, { clusterId: 'staging', stsEndpoint: moto.endpoint }), /SignatureDoesNotMatch/);
    // Tampering with the URL breaks the signature too.
    const tampered = new URL(url);
    tampered.searchParams.set('X-Amz-Expires', '900');
    const forged = 'k8s-aws-v1.' + Buffer.from(tampered.href).toString('base64url');
    await assert.rejects(verifyEksToken(forged, { clusterId: 'prod', stsEndpoint: moto.endpoint }), /SignatureDoesNotMatch/);
  });

  test('the authenticator side refuses old tokens and tokens without the cluster header signed', async () => {
    const old = await eksToken({ clusterName: 'prod', region: 'us-east-1', credentials: role, endpoint: moto.endpoint, now: () => Date.now() - 16 * 60_000 });
    await assert.rejects(verifyEksToken(old.token, { clusterId: 'prod', stsEndpoint: moto.endpoint }), /expired/);
    const { token } = await eksToken({ clusterName: 'prod', region: 'us-east-1', credentials: role, endpoint: moto.endpoint });
    const url = decodeEksToken(token);
    url.searchParams.set('X-Amz-SignedHeaders', 'host');
    await assert.rejects(verifyEksToken('k8s-aws-v1.' + Buffer.from(url.href).toString('base64url'), { clusterId: 'prod', stsEndpoint: moto.endpoint }), /x-k8s-aws-id/);
  });

  test('signs exactly as aws eks get-token (botocore) does', async () => {
    const now = Date.UTC(2030, 5, 7, 8, 9, 10);
    const python = join(dirname(await motoServerPath()), 'python');
    const args = { now, region: 'us-east-1', endpoint: moto.endpoint, cluster: 'prod', ...role };
    const { stdout } = await promisify(execFile)(python, ['-c', GET_TOKEN_PY, JSON.stringify(args)]);
    const theirs = decodeEksToken(stdout.trim());
    const ours = decodeEksToken((await eksToken({ clusterName: 'prod', region: 'us-east-1', credentials: role, endpoint: moto.endpoint, now: () => now })).token);
    assert.equal(ours.origin + ours.pathname, theirs.origin + theirs.pathname);
    // The same parameters (order aside) and so the same signature.
    assert.deepEqual([...ours.searchParams].sort(), [...theirs.searchParams].sort());
    assert.match(stdout.trim(), /^k8s-aws-v1\.[A-Za-z0-9_-]+$/);
  });

  test('takes a credentials provider, as an SDK client has', async () => {
    let calls = 0;
    const { token } = await eksToken({
      clusterName: 'prod',
      region: 'us-east-1',
      credentials: async () => (calls++, role),
      endpoint: moto.endpoint,
    });
    assert.equal(calls, 1);
    await verifyEksToken(token, { clusterId: 'prod', stsEndpoint: moto.endpoint });
  });

  test('signs for the regional STS endpoint by default, and wants a name, not an ARN', async () => {
    assert.equal(stsEndpoint('eu-west-1'), 'https://sts.eu-west-1.amazonaws.com/');
    assert.equal(stsEndpoint('cn-north-1'), 'https://sts.cn-north-1.amazonaws.com.cn/');
    const { token } = await eksToken({ clusterName: 'prod', region: 'eu-west-1', credentials: role });
    const url = decodeEksToken(token);
    assert.equal(url.origin, 'https://sts.eu-west-1.amazonaws.com');
    assert.match(url.searchParams.get('X-Amz-Credential') ?? '', /\/eu-west-1\/sts\/aws4_request$/);
    await assert.rejects(eksToken({ clusterName: 'arn:aws:eks:eu-west-1:123456789012:cluster/prod', region: 'eu-west-1', credentials: role }), /name, not its ARN/);
  });
});
