import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { SecretsManagerSecrets } from '../../shared/aws/secrets-manager.ts';
import { forgetSecrets, redact, redactString, REDACTED } from '../../shared/redact.ts';
import { startMoto, type Moto } from '../rig/moto.ts';

let moto: Moto;
let client: SecretsManagerClient;

before(async () => {
  moto = await startMoto();
  client = new SecretsManagerClient(moto.clientConfig);
});
after(async () => {
  client?.destroy();
  await moto?.stop();
});
beforeEach(() => forgetSecrets());

const ref = (name: string, cluster = 'prod', namespace = 'flux-system') => ({ cluster, namespace, kind: 'Secret', name });

describe('SecretsManagerSecrets', () => {
  test('reads tide/<cluster>/<namespace>/<name> as a map and registers every value for redaction', async () => {
    await client.send(new CreateSecretCommand({ Name: 'tide/prod/flux-system/git-auth', SecretString: JSON.stringify({ username: 'git', password: 'correct-horse-battery', token: 'ghs-opaque-value-42' }) }));
    const secrets = new SecretsManagerSecrets(client);
    assert.equal(secrets.secretId(ref('git-auth')), 'tide/prod/flux-system/git-auth');
    const data = await secrets.get(ref('git-auth'));
    assert.deepEqual(data, { username: 'git', password: 'correct-horse-battery', token: 'ghs-opaque-value-42' });
    // Registered: gone from any text, wherever it appears, not only under secret-looking names.
    assert.equal(redactString('cloning with correct-horse-battery failed'), `cloning with ${REDACTED} failed`);
    assert.deepEqual(redact({ message: 'x ghs-opaque-value-42 y' }), { message: `x ${REDACTED} y` });
  });

  test('honours the prefix, as TIDE_SECRETS_PREFIX sets it (options or a plain string)', async () => {
    await client.send(new CreateSecretCommand({ Name: 'fleet/tide/staging/apps/webhook', SecretString: '{"token":"webhook-token-value"}' }));
    assert.deepEqual(await new SecretsManagerSecrets(client, { prefix: 'fleet/tide/' }).get(ref('webhook', 'staging', 'apps')), { token: 'webhook-token-value' });
    assert.deepEqual(await new SecretsManagerSecrets(client, 'fleet/tide/').get(ref('webhook', 'staging', 'apps')), { token: 'webhook-token-value' });
    assert.equal(await new SecretsManagerSecrets(client).get(ref('webhook', 'staging', 'apps')), undefined);
  });

  test('a warm function reuses what it read for cacheMs, then reads the rotated value', async () => {
    await client.send(new CreateSecretCommand({ Name: 'tide/prod/flux-system/rotating', SecretString: '{"token":"first-value-1"}' }));
    let now = 1_000_000;
    const secrets = new SecretsManagerSecrets(client, { cacheMs: 60_000, now: () => now });
    assert.deepEqual(await secrets.get(ref('rotating')), { token: 'first-value-1' });
    await client.send(new PutSecretValueCommand({ SecretId: 'tide/prod/flux-system/rotating', SecretString: '{"token":"second-value-2"}' }));
    now += 59_000;
    assert.deepEqual(await secrets.get(ref('rotating')), { token: 'first-value-1' }, 'within cacheMs: no call');
    now += 2_000;
    assert.deepEqual(await secrets.get(ref('rotating')), { token: 'second-value-2' }, 'after cacheMs: read again');
  });

  test('a missing secret is undefined', async () => {
    assert.equal(await new SecretsManagerSecrets(client).get(ref('does-not-exist')), undefined);
  });

  test('a value that is not a JSON map of strings is a clear error that does not show the value', async () => {
    const secrets = new SecretsManagerSecrets(client);
    await client.send(new CreateSecretCommand({ Name: 'tide/prod/flux-system/plain', SecretString: 'plain-text-password-xyz' }));
    await assert.rejects(secrets.get(ref('plain')), (err: Error) => {
      assert.match(err.message, /Secrets Manager secret tide\/prod\/flux-system\/plain is not a JSON map of strings/);
      assert.ok(!err.message.includes('plain-text-password-xyz'));
      return true;
    });
    // Even so, the value was registered: it is a secret.
    assert.equal(redactString('plain-text-password-xyz'), REDACTED);

    await client.send(new CreateSecretCommand({ Name: 'tide/prod/flux-system/nested', SecretString: JSON.stringify({ user: 'u', password: { value: 'nested-secret-123' } }) }));
    await assert.rejects(secrets.get(ref('nested')), (err: Error) => {
      assert.match(err.message, /tide\/prod\/flux-system\/nested is not a JSON map of strings: the value of "password" is not a string/);
      assert.ok(!err.message.includes('nested-secret-123'));
      return true;
    });
    await client.send(new CreateSecretCommand({ Name: 'tide/prod/flux-system/list', SecretString: '["list-secret-value"]' }));
    await assert.rejects(secrets.get(ref('list')), /tide\/prod\/flux-system\/list is not a JSON map of strings/);
  });

  test('a binary-only secret says to store a string', async () => {
    await client.send(new CreateSecretCommand({ Name: 'tide/prod/flux-system/binary', SecretBinary: new Uint8Array([1, 2, 3]) }));
    await assert.rejects(new SecretsManagerSecrets(client).get(ref('binary')), /tide\/prod\/flux-system\/binary has no SecretString/);
  });

  test('refuses refs that are not valid names', async () => {
    await assert.rejects(new SecretsManagerSecrets(client).get(ref('../other', 'prod')), /name/);
    await assert.rejects(new SecretsManagerSecrets(client).get(ref('x', 'prod', '')), /namespaced/);
  });
});
