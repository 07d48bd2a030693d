import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forgetSecrets, registerSecret } from '../../shared/redact.ts';
import {
  DetailType,
  InvalidEventError,
  MAX_ENTRY_BYTES,
  entrySize,
  newEvent,
  type EventBus,
  type TideEvent,
} from '../../shared/events/index.ts';

/** An event as a subscriber sees it: detail-type, source and detail. */
export interface Received {
  detailType: string;
  source: string;
  detail: TideEvent['detail'];
}

/** A fresh bus, and a way to read what subscribers to it received. */
export interface BusUnderTest {
  bus: EventBus;
  /** Resolves with exactly `count` events once they arrived, or rejects after a timeout. */
  receive(count: number): Promise<Received[]>;
  /** Resolves with whatever arrived within a short wait (to show that nothing did). */
  receiveNone(): Promise<Received[]>;
}

export const sample = (name: string, extra: Partial<TideEvent['detail']> = {}): TideEvent =>
  newEvent(DetailType.ReconcileSucceeded, {
    involvedObject: { kind: 'Kustomization', namespace: 'flux-system', name, apiVersion: 'kustomize.toolkit.fluxcd.io/v1' },
    cluster: 'staging',
    severity: 'info',
    reason: 'ReconciliationSucceeded',
    message: `Applied revision: main@sha1:0123abcd`,
    revision: 'main@sha1:0123abcd',
    reportingController: 'reconcile',
    ...extra,
  });

export function busContract(name: string, make: () => Promise<BusUnderTest>): void {
  describe(`${name}: delivery`, () => {
    it('delivers the Flux-shaped event under its detail-type and source', async () => {
      const t = await make();
      const event = sample('apps', { metadata: { 'kustomize.toolkit.fluxcd.io/revision': 'main@sha1:0123abcd' } });
      assert.deepEqual(await t.bus.publish([event]), { sent: 1 });
      const [got] = await t.receive(1);
      assert.equal(got?.detailType, 'Reconcile Succeeded');
      assert.equal(got?.source, 'tide');
      assert.deepEqual(got?.detail, event.detail);
    });

    it('delivers 25 events, more than one PutEvents call holds, each exactly once', async () => {
      const t = await make();
      const events = Array.from({ length: 25 }, (_, i) => sample(`app-${i}`));
      assert.deepEqual(await t.bus.publish(events), { sent: 25 });
      const got = await t.receive(25);
      assert.deepEqual(got.map((g) => g.detail.involvedObject.name).sort(), events.map((e) => e.detail.involvedObject.name).sort());
    });

    it('cuts an oversized message to fit one entry and says so', async () => {
      const t = await make();
      const event = sample('huge', { message: 'x'.repeat(300 * 1024) });
      await t.bus.publish([event]);
      const [got] = await t.receive(1);
      assert.ok(got);
      assert.equal(got.detail.metadata?.truncated, 'true');
      assert.match(got.detail.message, /\[truncated: the event exceeded 256 KB\]$/);
      assert.ok(entrySize(got.detailType, JSON.stringify(got.detail)) <= MAX_ENTRY_BYTES);
      assert.ok(got.detail.message.length > 200 * 1024, 'kept most of the message');
    });

    it('refuses an event without an identity before sending anything', async () => {
      const t = await make();
      const bad = sample('x');
      (bad.detail.involvedObject as { name?: string }).name = '';
      await assert.rejects(t.bus.publish([sample('good'), bad]), (err: Error) => {
        assert.ok(err instanceof InvalidEventError);
        assert.match(err.message, /Reconcile Succeeded.*staging\/flux-system\/Kustomization\/.*involvedObject needs kind, namespace/);
        return true;
      });
      await assert.rejects(t.bus.publish([sample('y', { severity: 'warning' as 'info' })]), /severity is "warning"/);
      assert.deepEqual(await t.receiveNone(), [], 'not even the good event of the batch');
    });
  });

  describe(`${name}: secrets`, () => {
    it('never carries a secret: URL credentials, tokens, registered values, secret fields', async () => {
      const t = await make();
      forgetSecrets();
      registerSecret('hunter2-deploy-password');
      const event = sample('leaky', {
        severity: 'error',
        reason: 'GitOperationFailed',
        message:
          'failed to fetch https://git:ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/org/fleet.git: ' +
          'auth as git with hunter2-deploy-password refused; header Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0aWRlIn0.c2lnbmF0dXJlLXZhbHVl',
        metadata: { token: 's3cr3t-t0k3n-value', url: 'https://user:pa55word@example.com/repo', note: 'password=letmein123' },
      });
      await t.bus.publish([event]);
      const [got] = await t.receive(1);
      const text = JSON.stringify(got);
      for (const secret of ['ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'hunter2-deploy-password', 'eyJhbGciOiJSUzI1NiJ9', 's3cr3t-t0k3n-value', 'pa55word', 'letmein123']) {
        assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
      }
      // ...while what is not secret stays readable.
      assert.match(got!.detail.message, /failed to fetch https:\/\/git:\[REDACTED\]@github\.com\/org\/fleet\.git/);
      assert.equal(got!.detail.metadata?.url, 'https://user:[REDACTED]@example.com/repo');
      assert.equal(event.detail.metadata?.token, 's3cr3t-t0k3n-value', 'the caller’s object is not changed');
      forgetSecrets();
    });
  });
}
