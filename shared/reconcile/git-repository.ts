import { fetchArtifactIfChanged, GitSourceError, type GitCredentials, type GitRepositoryRef } from '../sources/git/index.ts';
import { formatRef, type ObjectRef } from '../store/refs.ts';
import { isReady, Reason, withReady } from './conditions.ts';
import type { Outcome, ReconcileContext } from './context.ts';
import { parseDuration, parseInterval } from './duration.ts';
import type { ArtifactStatus } from './kustomization.ts';
import { storeArtifact } from './store-artifact.ts';
import { notRegistered, openSubject } from './subject.ts';

/** spec of source.toolkit.fluxcd.io/v1 GitRepository, the fields Tide reads. */
export interface GitRepositorySpec {
  url: string;
  ref?: GitRepositoryRef;
  interval: string;
  timeout?: string;
  secretRef?: { name: string };
  ignore?: string;
  suspend?: boolean;
}

const CONTROLLER = 'source';

/**
 * Reconciles a GitRepository: one ref listing to learn the revision; only a new revision is
 * fetched, packed and stored (by digest), and only then is "Source Updated" sent. A failure sets
 * Ready=False and keeps the last good artifact in use.
 */
export async function reconcileGitRepository(ctx: ReconcileContext, ref: ObjectRef): Promise<Outcome> {
  const subject = await openSubject<GitRepositorySpec>(ctx, ref, CONTROLLER);
  if (!subject) return notRegistered(ref);
  const { spec, generation, previous, now, fail } = subject;
  if (spec.suspend) return { ready: isReady(previous), message: 'suspended' };

  let interval: number;
  try {
    interval = parseInterval(spec.interval, 'spec.interval');
    if (spec.timeout) parseDuration(spec.timeout, 'spec.timeout');
    if (!spec.url) throw new Error('spec.url is missing');
  } catch (err) {
    return fail(Reason.InvalidSpec, `${formatRef(ref)}: ${(err as Error).message}`, { stalled: true });
  }

  let credentials: GitCredentials | undefined;
  if (spec.secretRef?.name) {
    const data = await ctx.secrets.get({ cluster: ref.cluster, namespace: ref.namespace, kind: 'Secret', name: spec.secretRef.name }).catch((err: Error) => err);
    if (data instanceof Error || !data) {
      return fail(Reason.AuthenticationFailed, `secret ${ref.namespace}/${spec.secretRef.name} ${data instanceof Error ? `could not be read: ${data.message}` : 'not found'}: create it in Tide's secret store or the cluster`, { retryMs: interval });
    }
    // Flux's GitRepository secret keys: username/password or bearerToken over HTTPS;
    // identity (private key), known_hosts and an optional password (passphrase) over SSH.
    credentials = { username: data.username, password: data.password, bearerToken: data.bearerToken, identity: data.identity, knownHosts: data.known_hosts };
  }
  const source = { id: `${ref.namespace}/${ref.name}`, url: spec.url, ref: spec.ref, ignore: spec.ignore, credentials, ...(spec.secretRef?.name ? { secret: `${ref.namespace}/${spec.secretRef.name}` } : {}) };

  const current = previous?.artifact as ArtifactStatus | undefined;
  try {
    // One ref listing; a new revision is fetched on the same connection (over SSH, one session).
    const fetched = await fetchArtifactIfChanged(source, async (revision) => !!current && current.revision === revision && (await ctx.store.artifacts.has(ref, current.digest)));
    if ('unchanged' in fetched) {
      // Unchanged: one ref listing, nothing downloaded, stored or sent (unless recovering).
      const { revision } = fetched;
      if (!isReady(previous) || previous?.observedGeneration !== generation) {
        await ctx.store.status.update(ref, (cur) => withReady(cur, 'True', Reason.ArtifactInStorage, `stored artifact for revision '${revision}'`, now(), { generation }), { replaceCorrupt: true });
      }
      return { ready: true, message: 'unchanged', revision, requeueAfterMs: interval };
    }
    const message = await storeArtifact(ctx, ref, subject, fetched, { logFields: { files: fetched.files } });
    return { ready: true, message, revision: fetched.revision, requeueAfterMs: interval };
  } catch (err) {
    const e = err as GitSourceError;
    const reason = e instanceof GitSourceError && e.reason === 'AuthenticationFailed' ? Reason.AuthenticationFailed : Reason.GitOperationFailed;
    const kept = current ? ` (still serving revision ${current.revision})` : '';
    return fail(reason, `${e.message}${kept}`, { retryMs: interval });
  }
}
