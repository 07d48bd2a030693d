import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { CreateEventBusCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgeBus, EventPublishError, batches, prepareEvent } from '../../shared/events/index.ts';
import { startMoto, type Moto } from '../rig/moto.ts';
import { busContract, sample, type Received } from './contract.ts';

let moto: Moto;
let eventbridge: EventBridgeClient;
let sqs: SQSClient;
let n = 0;

before(async () => {
  moto = await startMoto();
  eventbridge = new EventBridgeClient(moto.clientConfig);
  sqs = new SQSClient(moto.clientConfig);
});
after(async () => {
  eventbridge?.destroy();
  sqs?.destroy();
  await moto?.stop();
});

/**
 * moto delivers rule targets to SQS (not to Lambda), so each test routes its own bus to its own
 * queue with an ordinary rule on `source: tide`, and reads the queue as a subscriber would.
 */
busContract('EventBridge bus (moto)', async () => {
  const busName = `tide-${++n}`;
  const bus = await eventbridge.send(new CreateEventBusCommand({ Name: busName }));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `tide-events-${n}` }));
  const { QueueArn } = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes ?? {};
  await eventbridge.send(new PutRuleCommand({ Name: 'all-tide-events', EventBusName: busName, EventPattern: JSON.stringify({ source: ['tide'] }) }));
  await eventbridge.send(new PutTargetsCommand({ Rule: 'all-tide-events', EventBusName: busName, Targets: [{ Id: 'queue', Arn: QueueArn }] }));
  assert.ok(bus.EventBusArn);

  const drain = async (count: number, waitMs: number): Promise<Received[]> => {
    const got: Received[] = [];
    const deadline = Date.now() + waitMs;
    while (got.length < count && Date.now() < deadline) {
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      const messages = out.Messages ?? [];
      for (const m of messages) {
        const envelope = JSON.parse(m.Body ?? '{}');
        got.push({ detailType: envelope['detail-type'], source: envelope.source, detail: envelope.detail });
      }
      if (messages.length > 0) {
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
      } else {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return got;
  };
  return {
    bus: new EventBridgeBus({ client: eventbridge, busName }),
    async receive(count) {
      const got = await drain(count, 10_000);
      assert.equal(got.length, count, `expected ${count} events on the queue, got ${got.length}`);
      assert.deepEqual(await drain(1, 300), [], 'and no more');
      return got;
    },
    receiveNone: () => drain(1, 500),
  };
});

describe('EventBridge bus: batching', () => {
  it('never puts more than 10 entries or 256 KB in one call', () => {
    const small = Array.from({ length: 23 }, (_, i) => prepareEvent(sample(`a${i}`)));
    assert.deepEqual(batches(small).map((b) => b.length), [10, 10, 3]);
    const big = Array.from({ length: 5 }, (_, i) => prepareEvent(sample(`b${i}`, { message: 'y'.repeat(100 * 1024) })));
    const sizes = batches(big).map((b) => b.reduce((s, p) => s + p.size, 0));
    assert.deepEqual(batches(big).map((b) => b.length), [2, 2, 1]);
    for (const s of sizes) assert.ok(s <= 256 * 1024);
  });
});

/**
 * EventBridge's partial failures (an entry throttled or failed internally while the call succeeds)
 * cannot be produced by moto, so these run the real SDK client against a recording HTTP server
 * that answers PutEvents the way the service documents.
 */
describe('EventBridge bus: failed entries', () => {
  type Call = { entries: Array<{ Detail: string }> };
  async function fakeEventBridge(answer: (call: Call, index: number) => Array<{ EventId?: string; ErrorCode?: string; ErrorMessage?: string }>) {
    const calls: Call[] = [];
    const server = createServer(async (req: IncomingMessage, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      assert.equal(req.headers['x-amz-target'], 'AWSEvents.PutEvents');
      const call: Call = { entries: JSON.parse(body).Entries };
      calls.push(call);
      const entries = answer(call, calls.length - 1);
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      res.end(JSON.stringify({ FailedEntryCount: entries.filter((e) => e.ErrorCode).length, Entries: entries }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const client = new EventBridgeClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    return { calls, client, close: () => new Promise((r) => server.close(r)).then(() => client.destroy()) };
  }
  const nameOf = (entry: { Detail: string }) => JSON.parse(entry.Detail).involvedObject.name as string;

  it('re-sends only the entries the response marked failed', async () => {
    const fake = await fakeEventBridge((call, i) =>
      call.entries.map((e, j) => (i === 0 && (j === 1 || j === 3) ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' } : { EventId: `id-${nameOf(e)}` })),
    );
    try {
      const bus = new EventBridgeBus({ client: fake.client, backoffMs: 1 });
      const out = await bus.publish(Array.from({ length: 5 }, (_, i) => sample(`app-${i}`)));
      assert.deepEqual(out, { sent: 5 });
      assert.deepEqual(fake.calls.map((c) => c.entries.map(nameOf)), [['app-0', 'app-1', 'app-2', 'app-3', 'app-4'], ['app-1', 'app-3']]);
    } finally {
      await fake.close();
    }
  });

  it('reports what still fails after the retries, naming each event, and sends the rest', async () => {
    const fake = await fakeEventBridge((call) =>
      call.entries.map((e) => (nameOf(e) === 'doomed' ? { ErrorCode: 'InternalFailure', ErrorMessage: 'try later' } : { EventId: 'ok' })),
    );
    try {
      const bus = new EventBridgeBus({ client: fake.client, retries: 2, backoffMs: 1 });
      await assert.rejects(bus.publish([sample('fine'), sample('doomed'), sample('also-fine')]), (err: Error) => {
        assert.ok(err instanceof EventPublishError);
        assert.equal(err.sent, 2);
        assert.deepEqual(err.failed.map((f) => [f.event.detail.involvedObject.name, f.code]), [['doomed', 'InternalFailure']]);
        assert.match(err.message, /1 of 3 event\(s\) not published: Reconcile Succeeded for staging\/flux-system\/Kustomization\/doomed \(InternalFailure: try later\)/);
        return true;
      });
      assert.equal(fake.calls.length, 3, 'one call and two re-sends');
    } finally {
      await fake.close();
    }
  });
});
