import type { GitRepositorySpec } from '../reconcile/git-repository.ts';
import type { StateStore } from '../store/state-store.ts';
import type { ObjectRef } from '../store/refs.ts';
import type { KubeObject } from '../store/types.ts';
import type { PushInfo, ReceiverSpec } from './verify.ts';

export interface Target {
  readonly ref: ObjectRef;
  /** Why it is or is not requested, for the response and the log. */
  readonly note: string;
  readonly requested: boolean;
}

/**
 * The objects a webhook asks to reconcile: the Receiver's `resources` (by name, or `*` with
 * matchLabels, in the Receiver's namespace unless one is given), narrowed by what the push says.
 * A push to a GitRepository is requested only when it is for that repository and for the ref it
 * follows (its branch, its tag, any tag for a semver range): a push to another branch, or a body
 * of another repository replayed with a valid signature, requests nothing.
 */
export async function webhookTargets(store: StateStore, receiver: ObjectRef, spec: ReceiverSpec, push: PushInfo | undefined): Promise<Target[]> {
  const out: Target[] = [];
  for (const r of spec.resources ?? []) {
    const namespace = r.namespace ?? receiver.namespace;
    const candidates: Array<{ ref: ObjectRef; value: KubeObject }> = [];
    if (r.name === '*') {
      const all = (await store.objects.list(receiver.cluster, { kind: r.kind, namespace })).items;
      candidates.push(...all.filter((o) => Object.entries(r.matchLabels ?? {}).every(([k, v]) => (o.value.metadata.labels as Record<string, string> | undefined)?.[k] === v)));
    } else {
      const ref = { cluster: receiver.cluster, namespace, kind: r.kind, name: r.name };
      const found = await store.objects.get(ref);
      if (!found) {
        out.push({ ref, requested: false, note: `${r.kind} ${namespace}/${r.name} is not registered in cluster ${receiver.cluster}` });
        continue;
      }
      candidates.push({ ref, value: found.value });
    }
    for (const c of candidates) out.push({ ref: c.ref, ...matchPush(c.value, push) });
  }
  return out;
}

function matchPush(obj: KubeObject, push: PushInfo | undefined): { requested: boolean; note: string } {
  if (!push || obj.kind !== 'GitRepository') return { requested: true, note: 'requested' };
  const spec = (obj.spec ?? {}) as GitRepositorySpec;
  if (push.repositoryUrls.length > 0 && !push.repositoryUrls.some((u) => sameRepository(u, spec.url))) {
    return { requested: false, note: `push is for ${push.repositoryUrls[0]}, not ${spec.url}` };
  }
  const ref = spec.ref ?? {};
  if (ref.commit && !ref.branch) return { requested: false, note: `follows commit ${ref.commit}, which a push cannot change` };
  if (push.branch !== undefined) {
    const branch = ref.branch ?? (ref.tag || ref.semver || ref.name ? undefined : 'master');
    if (ref.name) return { requested: ref.name === push.ref, note: ref.name === push.ref ? 'requested' : `follows ${ref.name}, push is to ${push.ref}` };
    return branch === push.branch ? { requested: true, note: 'requested' } : { requested: false, note: `follows ${branch ? `branch ${branch}` : 'a tag'}, push is to branch ${push.branch}` };
  }
  if (push.tag !== undefined) {
    if (ref.semver || ref.tag === push.tag) return { requested: true, note: 'requested' };
    return { requested: false, note: `does not follow tag ${push.tag}` };
  }
  return { requested: true, note: 'requested' };
}

/** Same repository whatever the spelling: https/ssh/scp-like, user@, `.git`, case of the host. */
export function sameRepository(a: string, b: string): boolean {
  return canonicalRepository(a) === canonicalRepository(b);
}

export function canonicalRepository(url: string): string {
  let u = url.trim();
  const scp = /^(?:[^@/]+@)?([^:/]+):(?!\d+\/)(.+)$/.exec(u); // git@github.com:org/repo.git
  if (scp && !u.includes('://')) u = `ssh://${scp[1]}/${scp[2]}`;
  try {
    const p = new URL(u);
    const host = p.hostname.toLowerCase();
    const path = p.pathname.replace(/\/+$/, '').replace(/\.git$/, '');
    return `${host}${path}`;
  } catch {
    return u.replace(/\.git$/, '');
  }
}
