// Publishing a reconcile's events: Tide batches PutEvents (10 entries, 256 KB a call).
// Baseline: one PutEvents call per event, the obvious loop. Both against moto's EventBridge.
import { CreateEventBusCommand, EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DetailType, EventBridgeBus, newEvent } from '../shared/events/index.ts';
import { startMoto } from '../test/rig/moto.ts';
import { compare, report, time } from './measure.ts';

const EVENTS = 200;
const moto = await startMoto();
const client = new EventBridgeClient(moto.clientConfig);
try {
  await client.send(new CreateEventBusCommand({ Name: 'tide' }));
  const bus = new EventBridgeBus({ client, busName: 'tide' });
  const events = Array.from({ length: EVENTS }, (_, i) =>
    newEvent(DetailType.ReconcileSucceeded, {
      involvedObject: { kind: 'Kustomization', namespace: 'flux-system', name: `app-${i}` },
      cluster: 'bench', severity: 'info', reason: 'ReconciliationSucceeded',
      message: `Applied revision: main@sha1:${'a'.repeat(40)}`, revision: `main@sha1:${'a'.repeat(40)}`, reportingController: 'reconcile',
    }),
  );
  const result = await compare(
    3,
    async () => {
      const t = await time(1, () => bus.publish(events));
      return { ...t, ops: EVENTS, perOpMs: t.totalMs / EVENTS };
    },
    () => time(EVENTS, (i) => client.send(new PutEventsCommand({ Entries: [{ Source: 'tide', DetailType: events[i]!.detailType, Detail: JSON.stringify(events[i]!.detail), EventBusName: 'tide' }] }))),
  );
  report(`${EVENTS} events (moto EventBridge)`, 'Tide EventBridgeBus.publish', 'one PutEvents per event', result, 'Tide redacts and validates every event too');
} finally {
  client.destroy();
  await moto.stop();
}
