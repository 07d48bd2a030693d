// Fetching a Flux GitRepository (source.toolkit.fluxcd.io/v1) in pure TypeScript: isomorphic-git
// over HTTP(S), or over SSH through the ssh2 client (ssh-transport.ts), no git or ssh binary. resolveRevision is the cheap poll; fetchArtifact packs the tree.
export type { GitCredentials, GitRepositoryRef, GitSourceSpec } from './types.ts';
export { DEFAULT_BRANCH, DEFAULT_MAX_ARTIFACT_BYTES } from './types.ts';
export { GitSourceError, type GitSourceErrorReason } from './errors.ts';
export { resolveRevision } from './resolve-revision.ts';
export { fetchArtifact, type FetchedArtifact, type FetchOptions } from './fetch-artifact.ts';
export { formatRevision } from './resolve-ref.ts';
