/** Where a GitRepository's artifact comes from: spec.ref of source.toolkit.fluxcd.io/v1. */
export interface GitRepositoryRef {
  branch?: string;
  tag?: string;
  /** A semver range; the highest tag satisfying it is used (tags with or without a leading `v`). */
  semver?: string;
  /** A full reference name: `refs/heads/main`, `refs/tags/v1.0.0`, `refs/pull/42/head`. */
  name?: string;
  /** A full 40-hex commit SHA; with `branch`, the revision is written `<branch>@sha1:<commit>`. */
  commit?: string;
}

export interface GitCredentials {
  /** HTTP(S) user; over SSH, the login when spec.url names none (default `git`). */
  username?: string;
  /** HTTP(S) password or token; over SSH, the passphrase of an encrypted `identity` (as in Flux). */
  password?: string;
  /** Sent as `Authorization: Bearer <token>`. For GitHub-style tokens use `password` (username `git`). */
  bearerToken?: string;
  /** SSH: the secret's `identity`, a private key in OpenSSH or PEM form (RSA, ECDSA, Ed25519). */
  identity?: string;
  /**
   * SSH: the secret's `known_hosts`, OpenSSH's format (`ssh-keyscan` output, hashed or not). Required:
   * the server's host key must be in it.
   */
  knownHosts?: string;
}

export interface GitSourceSpec {
  /** For messages: `namespace/name` of the GitRepository. */
  id: string;
  /**
   * `http://` or `https://` (credentials in the URL are used and never printed), or SSH:
   * `ssh://[user@]host[:port]/path` or `user@host:path`, with `identity` and `knownHosts`.
   */
  url: string;
  /** Flux's default: branch `master`. Precedence as Flux: commit > name > semver > tag > branch. */
  ref?: GitRepositoryRef;
  /**
   * spec.ignore, gitignore syntax. As in Flux's source-controller, patterns from .sourceignore files
   * and spec.ignore replace the default exclusions (images, archives, CI files); the VCS files
   * (.git/, .gitignore, .gitmodules, .gitattributes) are always excluded.
   */
  ignore?: string;
  credentials?: GitCredentials;
  /** For messages: `namespace/name` of the Secret the credentials came from (spec.secretRef). */
  secret?: string;
  /** Maximum size of the packed artifact in bytes; default 50 MiB. */
  maxArtifactBytes?: number;
}

export const DEFAULT_BRANCH = 'master';
export const DEFAULT_MAX_ARTIFACT_BYTES = 50 * 1024 * 1024;
