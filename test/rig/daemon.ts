import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';

/** A free TCP port on loopback, found by binding port 0. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test that crashes must not leave servers running behind it.
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** A server process the rig started: stop it, read its log. */
export interface Daemon {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  stop(): Promise<void>;
  /** The last lines the process wrote, for error messages. */
  tail(lines?: number): Promise<string>;
}

export interface StartOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Resolves once the server answers; polled until `timeoutMs`. */
  readonly ready: () => Promise<boolean>;
  readonly timeoutMs?: number;
  /** What a person runs to retry or investigate, printed in failures. */
  readonly hint?: string;
}

/**
 * Starts a server, waits until `ready()` says yes, and fails with the process name, its exit code
 * or the timeout, the log's last lines and a hint, never a hang.
 */
export async function startDaemon(opts: StartOptions): Promise<Daemon> {
  installExitHook();
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  const child = spawn(opts.command, opts.args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Two sources into one file: neither may end it; it ends when the process's output has closed.
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const logClosed = new Promise<void>((resolve) => {
    child.on('close', () => log.end(resolve));
    child.on('error', () => log.end(resolve));
  });
  running.add(child);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      running.delete(child);
      resolve();
    });
    child.on('error', (err) => {
      spawnError = err;
      running.delete(child);
      resolve();
    });
  });

  const tail = async (lines = 20): Promise<string> => {
    const text = await readFile(opts.logFile, 'utf8').catch(() => '');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  };
  const daemon: Daemon = {
    name: opts.name,
    pid: child.pid ?? -1,
    logFile: opts.logFile,
    tail,
    async stop() {
      if (!exited && !spawnError) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exitPromise;
        clearTimeout(timer);
      }
      // A child of the server (an sshd session) may hold the output open a little longer.
      await Promise.race([logClosed, new Promise((r) => setTimeout(r, 2_000).unref())]);
    },
  };

  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (spawnError) throw failure(opts, `could not be started: ${spawnError.message}`, '');
    if (exited) {
      await logClosed;
      throw failure(opts, `exited with ${exited.code ?? exited.signal} before it was ready`, await tail());
    }
    if (await opts.ready().catch(() => false)) return daemon;
    if (Date.now() > deadline) {
      await daemon.stop();
      throw failure(opts, `was not ready after ${(opts.timeoutMs ?? 60_000) / 1000}s`, await tail());
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function failure(opts: StartOptions, what: string, tail: string): Error {
  const cmd = [opts.command, ...opts.args].join(' ');
  return new Error(
    `rig: ${opts.name} ${what}.\n  command: ${cmd}\n  log: ${opts.logFile}` +
      (tail ? `\n  last lines:\n${tail.replace(/^/gm, '    ')}` : '') +
      (opts.hint ? `\n  to retry: ${opts.hint}` : ''),
  );
}
