import type { AuthCallback, AuthFailureCallback, GitAuth } from 'isomorphic-git';
import { registerSecret, redactString } from '../../redact.ts';
import { GitSourceError } from './errors.ts';
import type { GitCredentials, GitSourceSpec } from './types.ts';

/** How to talk to a GitRepository's server with isomorphic-git: URL, headers and auth callbacks. */
export interface Remote {
  /** `GitRepository <namespace>/<name>`, the start of every message. */
  readonly subject: string;
  /** The URL without user info: the one given to isomorphic-git and the one put in messages. */
  readonly url: string;
  readonly credentials: GitCredentials;
  /** `namespace/name` of the Secret the credentials came from, for messages. */
  readonly secret: string | undefined;
  /** Fresh each call (isomorphic-git writes into it): credentials sent up front, so no 401 round trip. */
  headers(): Record<string, string>;
  /** Gives the credentials once if the server still asks; never prompts. */
  readonly onAuth: AuthCallback;
  /** A second refusal cancels: wrong credentials become an error, not a loop. */
  readonly onAuthFailure: AuthFailureCallback;
}

/** Checks the URL (HTTP(S) only for now) and registers every credential with the redactor. */
export function openRemote(spec: GitSourceSpec): Remote {
  const subject = `GitRepository ${spec.id}`;
  const raw = spec.url.trim();
  if (/^ssh:\/\//i.test(raw) || /^[^\s/:@]+@[^\s/:]+:/.test(raw)) {
    throw new GitSourceError('Unsupported', `${subject}: ssh:// URLs are not supported yet: use an https:// URL with a token or username and password in spec.secretRef`);
  }
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new GitSourceError('Unsupported', `${subject}: spec.url ${JSON.stringify(redactString(raw))} is not a valid URL: use an https:// URL`);
  }
  const fromUrl: GitCredentials = {
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
  };
  parsed.username = '';
  parsed.password = '';
  const url = parsed.href.replace(/\/+$/, '');
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new GitSourceError('Unsupported', `${subject}: ${parsed.protocol}// URLs are not supported (${url}): use an https:// URL`);
  }

  const given = spec.credentials ?? {};
  const credentials: GitCredentials = {
    username: given.username || fromUrl.username,
    password: given.password || fromUrl.password,
    bearerToken: given.bearerToken || undefined,
  };
  // A token given as a password alone: GitHub and most hosts take any username, `git` by custom.
  if (credentials.password && !credentials.username) credentials.username = 'git';
  registerSecret(credentials.password);
  registerSecret(credentials.bearerToken);

  const auth = authHeaders(credentials);
  for (const value of Object.values(auth)) registerSecret(value.replace(/^\w+\s+/, ''));
  let offered = false;
  return {
    subject,
    url,
    credentials,
    secret: spec.secret,
    headers: () => ({ ...auth }),
    onAuth: (): GitAuth => {
      if (offered || Object.keys(auth).length === 0) return { cancel: true };
      offered = true;
      return { headers: { ...auth } };
    },
    onAuthFailure: (): GitAuth => ({ cancel: true }),
  };
}

function authHeaders(c: GitCredentials): Record<string, string> {
  if (c.bearerToken) return { Authorization: `Bearer ${c.bearerToken}` };
  if (c.username || c.password) {
    return { Authorization: `Basic ${Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`).toString('base64')}` };
  }
  return {};
}
