import { reconcileBucket } from './bucket.ts';
import { reconcileGitRepository } from './git-repository.ts';
import type { ReconcilerTable } from './reconcilers.ts';

/** The sources: what the source function (and tide local) fetches. */
export const sourceReconcilers: ReconcilerTable = { GitRepository: reconcileGitRepository, Bucket: reconcileBucket };
