/** Go's time.ParseDuration, which Flux's interval, retryInterval and timeout use: `1h30m`, `10m`, `30s`, `500ms`. */
const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export class DurationError extends Error {
  override readonly name = 'DurationError';
}

/** Milliseconds; throws DurationError naming the field for anything Go would refuse. */
export function parseDuration(text: unknown, field: string): number {
  if (typeof text !== 'string' || text.trim() === '') throw new DurationError(`${field} is missing: set a duration such as 10m or 1h`);
  const s = text.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (matched !== s.length) throw new DurationError(`${field} ${JSON.stringify(text)} is not a duration: write it as Go does, such as 10m, 1h30m or 45s`);
  return total;
}

/** A duration that must be at least `min` ms (an interval of 0 would be a hot loop). */
export function parseInterval(text: unknown, field: string, min = 1000): number {
  const ms = parseDuration(text, field);
  if (ms < min) throw new DurationError(`${field} ${JSON.stringify(text)} is shorter than ${min / 1000}s: Tide would reconcile in a hot loop`);
  return ms;
}
