import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { clusterFromAccess } from '../../shared/kube/cluster.ts';
import { storedKubeconfigAccess, UnsafeKubeConfigError } from '../../shared/kube/safe-kubeconfig.ts';
import { startKube, type Kube } from '../rig/kube.ts';

const WHERE = 'Secrets Manager secret tide/prod/kubeconfig';
const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');

/** A kubeconfig with one cluster `c1`, one user `u1` and context `ctx`; the blocks are indented YAML. */
function config(user: string, cluster = `    server: https://127.0.0.1:6443\n    certificate-authority-data: ${CA}`): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster:
${cluster}
users:
- name: u1
  user:
${user}
contexts:
- name: ctx
  context:
    cluster: c1
    user: u1
current-context: ctx
`;
}

function refused(text: string, ...patterns: RegExp[]): void {
  assert.throws(
    () => storedKubeconfigAccess(text, WHERE),
    (err: Error) => {
      assert.ok(err instanceof UnsafeKubeConfigError, String(err));
      assert.ok(err.message.startsWith(`kubeconfig in ${WHERE}: `), err.message);
      for (const p of patterns) assert.match(err.message, p);
      return true;
    },
  );
}

describe('storedKubeconfigAccess refuses what runs programs or reads files', () => {
  test('user exec plugin', () =>
    refused(config('    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: aws\n      args: [eks, get-token, --cluster-name, prod]'), /user "u1" has exec/, /runs a program/, /CVE-2022-24817/, /eks: \{cluster, roleArn\}/));
  test('user auth-provider', () =>
    refused(config('    auth-provider:\n      name: gcp\n      config:\n        cmd-path: /bin/sh\n        cmd-args: -c id'), /user "u1" has auth-provider/, /CVE-2022-24817/));
  test('user tokenFile and token-file', () => {
    refused(config('    tokenFile: /var/run/secrets/token'), /user "u1" has tokenFile/, /reads a file/, /CVE-2022-24817/);
    // client-node reads `token-file` while loading: it must be refused before that.
    refused(config('    token-file: /proc/self/environ'), /user "u1" has token-file/, /reads a file/);
  });
  test('user client-certificate / client-key files (the -data forms are fine)', async () => {
    refused(config('    client-certificate: /etc/ssl/cert.pem\n    client-key-data: a2V5'), /user "u1" has client-certificate/, /file path/, /client-certificate-data/);
    refused(config('    client-certificate-data: Y2VydA==\n    client-key: /etc/ssl/key.pem'), /user "u1" has client-key/, /client-key-data/);
    const access = storedKubeconfigAccess(config('    client-certificate-data: Y2VydA==\n    client-key-data: a2V5'), WHERE);
    const { tls } = await access.credentials(false);
    assert.deepEqual([tls.cert, tls.key], ['cert', 'key']);
  });
  test('cluster certificate-authority file', () =>
    refused(config('    token: abc', '    server: https://127.0.0.1:6443\n    certificate-authority: /etc/ssl/ca.pem'), /cluster "c1" has certificate-authority/, /file path/, /certificate-authority-data/));
  test('cluster proxy-url', () => {
    refused(config('    token: abc', `    server: https://127.0.0.1:6443\n    certificate-authority-data: ${CA}\n    proxy-url: unix:///var/run/docker.sock`), /cluster "c1" has proxy-url/);
    refused(config('    token: abc', `    server: https://127.0.0.1:6443\n    certificate-authority-data: ${CA}\n    proxy-url: http://proxy:3128`), /cluster "c1" has proxy-url/);
  });
  test('a server that is not http(s)', () =>
    refused(config('    token: abc', `    server: unix:///var/run/kube.sock\n    certificate-authority-data: ${CA}`), /cluster "c1": server "unix:\/\/\/var\/run\/kube.sock"/, /https/));
  test('insecure-skip-tls-verify: true, unless explicitly allowed', async () => {
    const text = config('    token: abc', '    server: https://127.0.0.1:6443\n    insecure-skip-tls-verify: true');
    refused(text, /cluster "c1" has insecure-skip-tls-verify: true/, /certificate-authority-data/);
    const access = storedKubeconfigAccess(text, WHERE, undefined, { allowInsecureSkipTlsVerify: true });
    assert.equal((await access.credentials(false)).tls.rejectUnauthorized, false);
  });
  test('fields it does not know, and YAML merge keys that another parser would follow', () => {
    refused(config('    token: abc\n    cmd-path: /bin/sh'), /user "u1" has cmd-path/, /not a field Tide accepts/);
    // js-yaml (client-node's parser) follows `<<` merge keys; the check does not, and refuses them.
    const merged = `apiVersion: v1
kind: Config
preferences: &evil
  exec: {command: /bin/sh}
clusters:
- name: c1
  cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: ${CA}}
users:
- name: u1
  user:
    <<: *evil
    token: abc
contexts:
- name: ctx
  context: {cluster: c1, user: u1}
current-context: ctx
`;
    refused(merged, /user "u1" has <</, /not a field Tide accepts/);
  });
  test('every user is checked, not only the current one', () => {
    const text = config('    token: abc').replace('contexts:', `- name: other
  user:
    exec: {command: /bin/sh}
contexts:`);
    refused(text, /user "other" has exec/);
  });
  test('bad YAML is refused without echoing the text (it may hold a credential)', () => {
    assert.throws(
      () => storedKubeconfigAccess('users:\n- name: u\n  user:\n    token: "s3cr3t-token-value\n  bad: [', WHERE),
      (err: Error) => {
        assert.match(err.message, /kubeconfig in Secrets Manager secret tide\/prod\/kubeconfig: not valid YAML/);
        assert.ok(!err.message.includes('s3cr3t-token-value'), err.message);
        return true;
      },
    );
    refused('just a string', /not a kubeconfig/);
  });
  test('contexts: the named one, else current-context; it must exist', async () => {
    const access = storedKubeconfigAccess(config('    token: abc'), WHERE, 'ctx');
    assert.deepEqual((await access.credentials(false)).headers, { authorization: 'Bearer abc' });
    assert.throws(() => storedKubeconfigAccess(config('    token: abc'), WHERE, 'nope'), /context "nope": not found \(it has "ctx"\)/);
  });
});

describe('storedKubeconfigAccess loads a plain kubeconfig', () => {
  let kube: Kube;
  before(async () => {
    kube = await startKube({ controllerManager: false });
  });
  after(async () => {
    await kube?.stop();
  });

  test('a token with certificate-authority-data reaches the apiserver', async () => {
    const text = config(`    token: ${kube.token}`, `    server: ${kube.server}\n    certificate-authority-data: ${Buffer.from(kube.caPem).toString('base64')}`);
    const cluster = clusterFromAccess('stored', storedKubeconfigAccess(text, WHERE));
    try {
      const list = await cluster.client.call<{ items: Array<{ metadata: { name: string } }> }>('GET', '/api/v1/namespaces');
      assert.ok(list.items.some((n) => n.metadata.name === 'default'));
    } finally {
      cluster.client.close();
    }
  });
});
