/**
 * What a Git host's push webhook says: the ref pushed, the commit, and every URL the payload
 * gives for the repository. The receiver uses it to request only the sources that follow the ref
 * of that repository, rather than every resource of the Receiver as Flux does. Pure functions on
 * a body whose signature has already been checked.
 */

export interface PushInfo {
  /** The full ref: `refs/heads/main`, `refs/tags/v1`. Absent when the push changed several refs. */
  ref?: string;
  branch?: string;
  tag?: string;
  /** The commit the ref now points at; absent when the ref was deleted. */
  commit?: string;
  /** Every clone or web URL the payload gives for the repository, clone URLs first. */
  repositoryUrls: string[];
  /** The push deleted the ref. */
  deleted?: boolean;
  /**
   * Every ref a single push changed, when it changed more than one (Bitbucket sends one event for
   * a push of several branches). `ref`, `branch`, `tag` and `commit` are then left out, so that no
   * source following one of the other refs is skipped.
   */
  refs?: string[];
}

/** A signed body that is not the JSON object its sender promises. */
export class PayloadError extends Error {
  override name = 'PayloadError';
}

/** The header each Git host names its event in; the Receiver's `spec.events` filters on it. */
export const EVENT_HEADERS: Readonly<Record<string, string>> = {
  github: 'x-github-event',
  gitlab: 'x-gitlab-event',
  bitbucket: 'x-event-key',
};

/** Headers come in any case (HTTP says they are case-insensitive; API Gateway and Function URLs differ). */
export function lowerCaseHeaders(headers: Record<string, string | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k.toLowerCase()] = v;
  return out;
}

/**
 * The webhook's JSON object. GitHub (and Gitea) may be set to send `application/x-www-form-urlencoded`
 * with the JSON in a `payload` field; the signature still covers the raw body.
 */
export function decodePayload(headers: Record<string, string | undefined>, body: Buffer): Record<string, unknown> {
  const h = lowerCaseHeaders(headers);
  let text = body.toString('utf8');
  if ((h['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    const field = new URLSearchParams(text).get('payload');
    if (field === null) throw new PayloadError('form-encoded body has no `payload` field');
    text = field;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new PayloadError(`body is not valid JSON (${body.length} bytes)`);
  }
  const o = asObject(value);
  if (!o) throw new PayloadError('body is JSON but not an object');
  return o;
}

/**
 * The push a webhook describes, or undefined when the event is not a push (a GitHub `release`,
 * a GitLab merge request) or names neither a ref nor a repository. Throws PayloadError when the
 * body is not a JSON object.
 */
export function parsePush(type: string, headers: Record<string, string | undefined>, body: Buffer): PushInfo | undefined {
  const header = EVENT_HEADERS[type];
  if (!header) return undefined;
  return pushFromPayload(type, lowerCaseHeaders(headers)[header], decodePayload(headers, body));
}

/** As parsePush, for a payload already decoded. */
export function pushFromPayload(type: string, event: string | undefined, payload: Record<string, unknown>): PushInfo | undefined {
  switch (type) {
    case 'github':
      return event?.toLowerCase() === 'push' ? githubPush(payload) : undefined;
    case 'gitlab':
      return gitlabPush(payload);
    case 'bitbucket':
      if (event === 'repo:refs_changed') return bitbucketServerPush(payload);
      if (event === 'repo:push') return bitbucketCloudPush(payload);
      return undefined;
    default:
      return undefined;
  }
}

/** `refs/heads/X` is branch X, `refs/tags/X` is tag X; other refs (pull requests, notes) are neither. */
export function refParts(ref: string | undefined): { branch?: string; tag?: string } {
  if (ref?.startsWith('refs/heads/')) return { branch: ref.slice('refs/heads/'.length) };
  if (ref?.startsWith('refs/tags/')) return { tag: ref.slice('refs/tags/'.length) };
  return {};
}

// GitHub (and Gitea): https://docs.github.com/en/webhooks/webhook-events-and-payloads#push
function githubPush(p: Record<string, unknown>): PushInfo | undefined {
  const repo = asObject(p.repository);
  const urls = strings(repo?.clone_url, repo?.ssh_url, repo?.html_url, repo?.git_url, repo?.url);
  return build(asString(p.ref), asString(p.after), urls, p.deleted === true);
}

// GitLab push and tag push events, from a project hook ("Push Hook", "Tag Push Hook") or a system
// hook ("System Hook" with the same body). `checkout_sha` is the commit even for an annotated tag,
// whose `after` is the tag object; it is null when the ref was deleted.
function gitlabPush(p: Record<string, unknown>): PushInfo | undefined {
  const kind = asString(p.object_kind) ?? asString(p.event_name);
  if (kind !== 'push' && kind !== 'tag_push') return undefined;
  const project = asObject(p.project);
  const repo = asObject(p.repository);
  const urls = strings(
    project?.git_http_url, project?.git_ssh_url, project?.http_url, project?.ssh_url,
    repo?.git_http_url, repo?.git_ssh_url, repo?.url,
    project?.web_url, project?.homepage, project?.url, repo?.homepage,
  );
  const after = asString(p.after);
  const commit = asString(p.checkout_sha) ?? after;
  return build(asString(p.ref), commit, urls, after !== undefined && isZeroSha(after));
}

// Bitbucket Server / Data Center `repo:refs_changed`: one event per push, one change per ref.
function bitbucketServerPush(p: Record<string, unknown>): PushInfo | undefined {
  const repo = asObject(p.repository);
  const links = asObject(repo?.links);
  const urls = strings(...hrefs(links?.clone), ...hrefs(links?.self));
  const changes = asArray(p.changes).map(asObject).filter((c): c is Record<string, unknown> => c !== undefined);
  const refOf = (c: Record<string, unknown>) => asString(asObject(c.ref)?.id) ?? asString(c.refId);
  if (changes.length > 1) return severalRefs(changes.map(refOf), urls);
  const change = changes[0];
  if (!change) return build(undefined, undefined, urls, false);
  return build(refOf(change), asString(change.toHash), urls, change.type === 'DELETE');
}

// Bitbucket Cloud `repo:push` (signed with X-Hub-Signature since 2023): `push.changes[].new` is the
// ref after the push, null when it was deleted (then `old` names it).
function bitbucketCloudPush(p: Record<string, unknown>): PushInfo | undefined {
  const repo = asObject(p.repository);
  const urls = strings(asObject(asObject(repo?.links)?.html)?.href);
  const changes = asArray(asObject(p.push)?.changes).map(asObject).filter((c): c is Record<string, unknown> => c !== undefined);
  const refOf = (c: Record<string, unknown>) => {
    const side = asObject(c.new) ?? asObject(c.old);
    const name = asString(side?.name);
    if (!name) return undefined;
    return side?.type === 'tag' ? `refs/tags/${name}` : side?.type === 'branch' ? `refs/heads/${name}` : undefined;
  };
  if (changes.length > 1) return severalRefs(changes.map(refOf), urls);
  const change = changes[0];
  if (!change) return build(undefined, undefined, urls, false);
  const commit = asString(asObject(asObject(change.new)?.target)?.hash);
  return build(refOf(change), commit, urls, change.new === null);
}

function build(ref: string | undefined, commit: string | undefined, repositoryUrls: string[], deleted: boolean): PushInfo | undefined {
  if (!ref && repositoryUrls.length === 0) return undefined;
  const info: PushInfo = { repositoryUrls };
  if (ref) Object.assign(info, { ref }, refParts(ref));
  if (deleted || (commit !== undefined && isZeroSha(commit))) info.deleted = true;
  else if (commit) info.commit = commit;
  return info;
}

function severalRefs(refs: Array<string | undefined>, repositoryUrls: string[]): PushInfo {
  return { repositoryUrls, refs: refs.filter((r): r is string => !!r) };
}

function isZeroSha(s: string): boolean {
  return /^0+$/.test(s);
}

function asObject(x: unknown): Record<string, unknown> | undefined {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined;
}

function asArray(x: unknown): unknown[] {
  return Array.isArray(x) ? x : [];
}

function asString(x: unknown): string | undefined {
  return typeof x === 'string' && x !== '' ? x : undefined;
}

function hrefs(x: unknown): unknown[] {
  return asArray(x).map((l) => asObject(l)?.href);
}

/** The non-empty strings, each once, in order. */
function strings(...xs: unknown[]): string[] {
  return [...new Set(xs.map(asString).filter((s): s is string => s !== undefined))];
}
