export type GitSourceErrorReason =
  | 'AuthenticationFailed'
  | 'RefNotFound'
  | 'UnsafePath'
  | 'ArtifactTooLarge'
  | 'FetchFailed'
  | 'Unsupported';

/**
 * A GitRepository could not be fetched. The message names the object and what to do, and never
 * holds a credential (URLs in it are without their user info).
 */
export class GitSourceError extends Error {
  override readonly name = 'GitSourceError';
  constructor(
    readonly reason: GitSourceErrorReason,
    message: string,
  ) {
    super(message);
  }
}
