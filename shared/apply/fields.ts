import type { FieldSet, ManagedFieldsEntry, Unstructured } from './object.ts';

/**
 * What one field manager owns of an object: its Apply entry's fieldsV1 set, projected onto the
 * object. The projection keeps exactly the owned fields with their live values, keyed so that it
 * is independent of list order and of anything other managers own. Two equal projections (for
 * the same desired object) mean nothing the manager owns changed; when anyone else changes an
 * owned field's value with an update, the field's ownership moves to them, so the set changes too.
 */
export function ownedFields(obj: Unstructured, manager: string): FieldSet | undefined {
  const entries = (obj.metadata.managedFields ?? []).filter(
    (e: ManagedFieldsEntry) => e.manager === manager && e.operation === 'Apply' && !e.subresource,
  );
  if (entries.length === 0) return undefined;
  return entries.reduce<FieldSet>((acc, e) => unionFields(acc, e.fieldsV1 ?? {}), {});
}

/** The object reduced to the fields in `set`. */
export function project(value: unknown, set: FieldSet): unknown {
  const keys = Object.keys(set).filter((k) => k !== '.');
  if (keys.length === 0) return value; // a leaf: the whole value is owned
  if (Array.isArray(value)) {
    const out: Record<string, unknown> = {};
    for (const key of keys.sort()) {
      const item = findListItem(value, key);
      out[key] = item === undefined ? { $missing: true } : project(item, set[key]!);
    }
    return out;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of keys.sort()) {
      if (!key.startsWith('f:')) continue;
      const name = key.slice(2);
      const v = (value as Record<string, unknown>)[name];
      out[name] = v === undefined ? { $missing: true } : project(v, set[key]!);
    }
    return out;
  }
  // A scalar where children are owned: the shape changed.
  return { $scalar: value ?? null };
}

function findListItem(list: unknown[], key: string): unknown {
  if (key.startsWith('k:')) {
    const match = JSON.parse(key.slice(2)) as Record<string, unknown>;
    return list.find((item) => item && typeof item === 'object' && Object.entries(match).every(([k, v]) => (item as Record<string, unknown>)[k] === v));
  }
  if (key.startsWith('v:')) {
    const want = key.slice(2);
    return list.find((item) => JSON.stringify(item) === want);
  }
  if (key.startsWith('i:')) return list[Number(key.slice(2))];
  return undefined;
}

/** The union of two field sets. */
export function unionFields(a: FieldSet, b: FieldSet): FieldSet {
  const out: FieldSet = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = out[k] ? unionFields(out[k]!, v) : v;
  return out;
}

/** One changed field: a dotted path, with its values before and after (absent when missing). */
export interface FieldChange {
  path: string;
  before?: unknown;
  after?: unknown;
}

/** The fields in `set` whose values differ between two versions of an object. */
export function changedFields(before: unknown, after: unknown, set: FieldSet): FieldChange[] {
  const a = flatten(project(before, set));
  const b = flatten(project(after, set));
  const changes: FieldChange[] = [];
  for (const path of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(path);
    const y = b.get(path);
    if (JSON.stringify(x) !== JSON.stringify(y)) changes.push({ path, ...(x === undefined ? {} : { before: x }), ...(y === undefined ? {} : { after: y }) });
  }
  return changes;
}

/** Projection to path -> leaf value; list keys print as `[name=podinfo]`. */
function flatten(value: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const rec = value as Record<string, unknown>;
    if ('$missing' in rec) return out;
    if ('$scalar' in rec) {
      out.set(prefix, rec.$scalar);
      return out;
    }
    const entries = Object.entries(rec);
    if (entries.length === 0) out.set(prefix, {});
    for (const [k, v] of entries) {
      const seg = k.startsWith('k:') ? `[${Object.entries(JSON.parse(k.slice(2))).map(([a, b]) => `${a}=${b}`).join(',')}]`
        : k.startsWith('v:') ? `[${k.slice(2)}]` : k.startsWith('i:') ? `[${k.slice(2)}]` : `${prefix ? '.' : ''}${k}`;
      flatten(v, prefix + seg, out);
    }
    return out;
  }
  out.set(prefix, value);
  return out;
}
