import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DetailType, MemoryEventBus, newEvent, type DeliveredEvent } from '../../shared/events/index.ts';
import { busContract, sample, type Received } from './contract.ts';

busContract('in-process bus', async () => {
  const bus = new MemoryEventBus();
  const got: Received[] = [];
  bus.subscribe({}, (e) => void got.push({ detailType: e.detailType, source: e.source, detail: e.detail }));
  return {
    bus,
    async receive(count) {
      await bus.idle();
      assert.equal(got.length, count, `expected ${count} events, got ${got.length}`);
      return got.splice(0);
    },
    async receiveNone() {
      await bus.idle();
      return got.splice(0);
    },
  };
});

describe('in-process bus: subscribers', () => {
  it('routes by detail-type, delivers after publish returns, and waits for chains in idle()', async () => {
    const bus = new MemoryEventBus();
    const seen: string[] = [];
    bus.subscribe({ detailType: [DetailType.ReconcileRequested] }, async (e) => {
      seen.push(`requested ${e.detail.involvedObject.name}`);
      await bus.publish([{ detailType: DetailType.ReconcileSucceeded, detail: { ...e.detail, reason: 'ReconciliationSucceeded' } }]);
    });
    bus.subscribe({ detailType: [DetailType.ReconcileSucceeded] }, (e) => void seen.push(`succeeded ${e.detail.involvedObject.name}`));
    await bus.publish([newEvent(DetailType.ReconcileRequested, { ...sample('apps').detail, reason: 'Requested' })]);
    assert.deepEqual(seen, [], 'nothing runs inside publish()');
    await bus.idle();
    assert.deepEqual(seen, ['requested apps', 'succeeded apps']);
  });

  it('a failing subscriber does not fail the publisher or the other subscribers', async () => {
    const errors: Array<[unknown, DeliveredEvent]> = [];
    const bus = new MemoryEventBus((err, e) => errors.push([err, e]));
    let other = 0;
    bus.subscribe({}, () => {
      throw new Error('boom');
    });
    bus.subscribe({}, () => void other++);
    assert.deepEqual(await bus.publish([sample('apps')]), { sent: 1 });
    await bus.idle();
    assert.equal(other, 1);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.[1].detail.involvedObject.name, 'apps');
  });

  it('a subscriber cannot change what the next one sees', async () => {
    const bus = new MemoryEventBus();
    let second = '';
    bus.subscribe({}, (e) => void (e.detail.message = 'changed'));
    bus.subscribe({}, (e) => void (second = e.detail.message));
    await bus.publish([sample('apps')]);
    await bus.idle();
    assert.equal(second, 'Applied revision: main@sha1:0123abcd');
  });
});
