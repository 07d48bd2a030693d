import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Logger } from '../../shared/log.ts';
import { forgetSecrets, redact, registerSecret } from '../../shared/redact.ts';

describe('logger', () => {
  it('writes one JSON line with the object identity on every line of a child', () => {
    const lines: string[] = [];
    const log = new Logger({ service: 'reconcile', write: (l) => lines.push(l) }).child({
      cluster: 'prod', namespace: 'flux-system', kind: 'Kustomization', name: 'apps', revision: 'main@sha1:abc',
    });
    log.info('applied', { created: 3 });
    log.debug('hidden at INFO');
    const entry = JSON.parse(lines[0]!);
    assert.equal(lines.length, 1);
    assert.deepEqual(
      { ...entry, timestamp: undefined },
      { level: 'INFO', message: 'applied', timestamp: undefined, service: 'reconcile', cluster: 'prod', namespace: 'flux-system', kind: 'Kustomization', name: 'apps', revision: 'main@sha1:abc', created: 3 },
    );
  });

  it('never writes a secret, in the message, in keys or in an error', () => {
    forgetSecrets();
    registerSecret('registered-secret-value');
    const lines: string[] = [];
    const log = new Logger({ write: (l) => lines.push(l) });
    const err = new Error('clone https://bot:registered-secret-value@git.example/fleet failed');
    log.error('fetch failed: password=opensesame42', { err, auth: { password: 'p4ssw0rd!', username: 'bot' }, kubeconfig: { token: 'abc.def-ghi' } });
    const line = lines.join('\n');
    for (const s of ['registered-secret-value', 'opensesame42', 'p4ssw0rd!', 'abc.def-ghi']) assert.ok(!line.includes(s), `${s} leaked: ${line}`);
    assert.match(line, /"username":"bot"/);
    assert.match(line, /clone https:\/\/bot:\[REDACTED\]@git\.example\/fleet failed/);
    forgetSecrets();
  });
});

describe('redact', () => {
  it('removes private keys, AWS keys and presigned signatures, leaves ordinary text alone', () => {
    const pem = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
    const out = redact({
      identity: pem,
      note: `key ${pem} and AKIAIOSFODNN7EXAMPLE and https://s3.amazonaws.com/b/k?X-Amz-Signature=deadbeef&X-Amz-Date=1`,
      plain: 'Deployment apps/podinfo configured (replicas 2 -> 3)',
      secretRef: { name: 'flux-system' },
    });
    assert.equal(out.identity, '[REDACTED]');
    assert.ok(!out.note.includes('b3BlbnNzaC1rZXktdjEAAAAA'));
    assert.ok(!out.note.includes('AKIAIOSFODNN7EXAMPLE'));
    assert.ok(!out.note.includes('deadbeef'));
    assert.match(out.note, /X-Amz-Date=1/);
    assert.equal(out.plain, 'Deployment apps/podinfo configured (replicas 2 -> 3)');
    assert.deepEqual(out.secretRef, { name: 'flux-system' }, 'a reference to a secret is not a secret');
  });
});
