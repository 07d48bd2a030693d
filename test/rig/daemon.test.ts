import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startDaemon } from './daemon.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('rig: a server that fails to start', () => {
  it('says which, how it exited, its last lines and how to retry', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tide-daemon-'));
    dirs.push(dir);
    await assert.rejects(
      startDaemon({
        name: 'kube-apiserver (broken)',
        command: 'sh',
        args: ['-c', 'echo "E1125 unable to load server certificate" >&2; exit 3'],
        logFile: join(dir, 'log'),
        ready: async () => false,
        hint: 'bash test/rig/build-binaries.sh',
      }),
      (err: Error) => {
        assert.match(err.message, /rig: kube-apiserver \(broken\) exited with 3 before it was ready/);
        assert.match(err.message, /unable to load server certificate/);
        assert.match(err.message, /to retry: bash test\/rig\/build-binaries\.sh/);
        return true;
      },
    );
  });

  it('gives up on one that never becomes ready, and stops it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tide-daemon-'));
    dirs.push(dir);
    const started = Date.now();
    await assert.rejects(
      startDaemon({ name: 'etcd (stuck)', command: 'sleep', args: ['60'], logFile: join(dir, 'log'), ready: async () => false, timeoutMs: 500 }),
      /rig: etcd \(stuck\) was not ready after 0.5s/,
    );
    assert.ok(Date.now() - started < 10_000);
  });

  it('names a binary that does not exist', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tide-daemon-'));
    dirs.push(dir);
    await assert.rejects(
      startDaemon({ name: 'moto_server', command: join(dir, 'nope'), args: [], logFile: join(dir, 'log'), ready: async () => false }),
      /rig: moto_server could not be started: spawn .*nope ENOENT/,
    );
  });
});
