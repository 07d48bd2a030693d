import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';

/** A build tide-kustomize answered with kustomize's own error. */
export class KustomizeError extends Error {
  override readonly name = 'KustomizeError';
}

/** What a build made: the objects in kustomize's order and, when asked for, each one's YAML as kubectl prints it. */
export interface KustomizeOutput {
  objects: Array<Record<string, unknown>>;
  yaml?: string[];
}

interface Pending {
  resolve(out: KustomizeOutput): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * One running tide-kustomize process (tools/kustomize-server): requests go one a line on stdin,
 * answers come back one a line, matched by id. The process builds one at a time; it holds the
 * event loop open only while a build is in flight, and a crash or a timeout fails what was in
 * flight and ends the process (the next build starts a fresh one).
 */
class ServerProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderr = '';
  exited = false;

  constructor(bin: string, private readonly onExit: (p: ServerProcess) => void) {
    // No PATH and no HOME: nothing kustomize might exec (git for a remote base) can be found.
    this.child = spawn(bin, [], { env: {}, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4096);
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => this.answer(line));
    this.child.on('error', (err) => this.fail(new Error(`tide-kustomize could not run: ${err.message}`)));
    // Writing to a process that just died: its exit is reported above; this must not crash Tide.
    this.child.stdin.on('error', (err) => this.fail(new Error(`tide-kustomize stopped reading: ${err.message}`)));
    this.child.on('exit', (code, signal) => this.fail(new Error(`tide-kustomize exited (${signal ?? `code ${code}`})${this.stderr ? `: ${this.stderr.trim()}` : ''}`)));
    this.hold(false);
  }

  get inFlight(): number {
    return this.pending.size;
  }

  build(dir: string, root: string, yaml: boolean, timeoutMs: number): Promise<KustomizeOutput> {
    const id = this.nextId++;
    return new Promise<KustomizeOutput>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new Error(`tide-kustomize did not answer within ${timeoutMs / 1000} s`));
        this.child.kill('SIGKILL');
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.hold(true);
      this.child.stdin.write(JSON.stringify({ id, dir, root, yaml }) + '\n');
    });
  }

  stop(): void {
    this.child.kill();
  }

  private answer(line: string): void {
    let a: { id?: number; objects?: KustomizeOutput['objects']; yaml?: string[]; error?: string };
    try {
      a = JSON.parse(line) as typeof a;
    } catch {
      return this.fail(new Error(`tide-kustomize answered something that is not JSON: ${line.slice(0, 200)}`));
    }
    const p = a.id === undefined ? undefined : this.pending.get(a.id);
    if (!p) return;
    this.pending.delete(a.id!);
    clearTimeout(p.timer);
    if (a.error !== undefined) p.reject(new KustomizeError(a.error));
    else p.resolve({ objects: a.objects ?? [], ...(a.yaml ? { yaml: a.yaml } : {}) });
    if (this.pending.size === 0) this.hold(false);
  }

  private fail(err: Error): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    if (!this.exited) {
      this.exited = true;
      this.onExit(this);
    }
  }

  /** Keep the event loop open for this process only while a build waits on it. */
  private hold(on: boolean): void {
    for (const s of [this.child, this.child.stdout, this.child.stderr, this.child.stdin] as Array<{ ref(): void; unref(): void }>) {
      if (on) s.ref();
      else s.unref();
    }
  }
}

/**
 * Up to `size` tide-kustomize processes (default: one per core, at most 2); each build goes to
 * the least busy one, starting another while all are busy.
 */
export class KustomizeServer {
  private readonly processes: ServerProcess[] = [];

  constructor(private readonly bin: string, private readonly size = Math.min(2, availableParallelism())) {}

  /**
   * The objects `kubectl kustomize dir --load-restrictor LoadRestrictionsNone` prints, and with
   * `yaml` each one's text; every file read must be inside root.
   */
  build(dir: string, root: string, options: { yaml?: boolean; timeoutMs?: number } = {}): Promise<KustomizeOutput> {
    let p = this.processes.find((x) => x.inFlight === 0);
    if (!p && this.processes.length < this.size) {
      p = new ServerProcess(this.bin, (gone) => this.processes.splice(this.processes.indexOf(gone), 1));
      this.processes.push(p);
    }
    p ??= this.processes.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    return p.build(dir, root, options.yaml === true, options.timeoutMs ?? 120_000);
  }

  close(): void {
    for (const p of this.processes.splice(0)) p.stop();
  }
}
