// Fetching a Flux GitRepository (source.toolkit.fluxcd.io/v1) in pure TypeScript: isomorphic-git
// over HTTP(S), or over SSH through the ssh2 client (ssh-transport.ts), no git or ssh binary. resolveRevision is the cheap poll; fetchArtifact packs the tree;
// fetchArtifactIfChanged does both on one listing (and, over SSH, one connection).
export type { GitCredentials, GitRepositoryRef, GitSourceSpec } from './types.ts';
export { DEFAULT_BRANCH, DEFAULT_MAX_ARTIFACT_BYTES } from './types.ts';
export { GitSourceError, type GitSourceErrorReason } from './errors.ts';
export { resolveRevision } from './resolve-revision.ts';
export { fetchArtifact, fetchArtifactIfChanged, type FetchedArtifact, type FetchOptions, type IsCurrent, type UnchangedRevision } from './fetch-artifact.ts';
export { formatRevision } from './resolve-ref.ts';
