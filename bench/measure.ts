import { readdirSync, readFileSync } from 'node:fs';
/** Shared helpers for benchmarks: time a function, report against a named baseline, peak memory. */

export interface Timing {
  readonly totalMs: number;
  readonly perOpMs: number;
  readonly ops: number;
}

export async function time(ops: number, fn: (i: number) => Promise<unknown>): Promise<Timing> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) await fn(i);
  const totalMs = Number(process.hrtime.bigint() - start) / 1e6;
  return { totalMs, perOpMs: totalMs / ops, ops };
}

/** Best of `rounds`, alternating subject and baseline so drift on a shared machine hits both alike. */
export async function compare(
  rounds: number,
  subject: () => Promise<Timing>,
  baseline: () => Promise<Timing>,
): Promise<{ subject: Timing; baseline: Timing }> {
  let best: { subject?: Timing; baseline?: Timing } = {};
  for (let r = 0; r < rounds; r++) {
    const b = await baseline();
    const s = await subject();
    if (!best.baseline || b.totalMs < best.baseline.totalMs) best.baseline = b;
    if (!best.subject || s.totalMs < best.subject.totalMs) best.subject = s;
  }
  return best as { subject: Timing; baseline: Timing };
}

export function report(name: string, subjectName: string, baselineName: string, r: { subject: Timing; baseline: Timing }, extra = ''): void {
  const ratio = r.baseline.totalMs / r.subject.totalMs;
  const peakMb = process.resourceUsage().maxRSS / 1024;
  console.log(
    `${name}: ${ratio.toFixed(1)}x faster than ${baselineName}` +
      ` | ${subjectName} ${r.subject.totalMs.toFixed(1)} ms (${r.subject.perOpMs.toFixed(2)} ms/op)` +
      ` | ${baselineName} ${r.baseline.totalMs.toFixed(1)} ms (${r.baseline.perOpMs.toFixed(2)} ms/op)` +
      ` | ${r.subject.ops} ops, peak RSS ${peakMb.toFixed(0)} MB${extra ? ` | ${extra}` : ''}`,
  );
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); its children once reaped included. */
export function processCpuSeconds(pid: number, withChildren = false): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]) + (withChildren ? Number(fields[13]) + Number(fields[14]) : 0);
  return ticks / 100; // USER_HZ
}

/** CPU seconds used so far by the running child processes of this process with this command name. */
export function childCpuSeconds(comm: string): number {
  let total = 0;
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    } catch {
      continue; // exited
    }
    const m = /^\d+ \((.*)\) \S (\d+)/.exec(stat);
    if (m && m[1] === comm && Number(m[2]) === process.pid) total += processCpuSeconds(Number(p));
  }
  return total;
}
