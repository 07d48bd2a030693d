import { redactString } from '../../redact.ts';
import { GitSourceError } from './errors.ts';
import type { Remote } from './remote.ts';

interface IsoGitError {
  code?: string;
  message?: string;
  data?: { statusCode?: number; what?: string };
}

/**
 * Turns what isomorphic-git (or the network) threw into a GitSourceError that names the object,
 * the URL without credentials, and what to do. `ref` is the reference being fetched, for RefNotFound.
 */
export function toGitSourceError(err: unknown, remote: Remote, ref?: { name: string; describe: string }): GitSourceError {
  if (err instanceof GitSourceError) return err;
  const e = (err ?? {}) as IsoGitError;
  const { subject, url } = remote;
  const status = e.code === 'HttpError' ? e.data?.statusCode : undefined;
  if (e.code === 'UserCanceledError' || status === 401) return authFailed(remote);
  if (status === 403) {
    return new GitSourceError('AuthenticationFailed', `${subject}: access to ${url} was refused (HTTP 403): check that the credentials in ${secretPhrase(remote)} can read the repository`);
  }
  if (status === 404) {
    return new GitSourceError('FetchFailed', `${subject}: repository ${url} not found (HTTP 404): check spec.url, and that the credentials can see it (some hosts answer 404 for private repositories)`);
  }
  if (e.code === 'NotFoundError' && ref && e.data?.what === ref.name) return refNotFound(remote, ref.describe);
  const detail = redactString(String(e.message ?? err)).replaceAll(url, '<url>');
  return new GitSourceError('FetchFailed', `${subject}: fetching from ${url} failed: ${detail}`);
}

export function refNotFound(remote: Remote, describe: string): GitSourceError {
  return new GitSourceError('RefNotFound', `${remote.subject}: ${describe} not found in ${remote.url}: check spec.ref`);
}

function authFailed(remote: Remote): GitSourceError {
  const { subject, url, credentials } = remote;
  if (!credentials.bearerToken && !credentials.password && !credentials.username) {
    return new GitSourceError('AuthenticationFailed', `${subject}: auth failed for ${url}: the server asks for credentials and none were given: set spec.secretRef to a secret with a username and password (or a bearer token)`);
  }
  const what = credentials.bearerToken ? 'bearer token' : 'username and password';
  return new GitSourceError('AuthenticationFailed', `${subject}: auth failed for ${url}: check the ${what} in ${secretPhrase(remote)}`);
}

function secretPhrase(remote: Remote): string {
  return remote.secret ? `secret ${remote.secret}` : 'the secret named by spec.secretRef';
}
