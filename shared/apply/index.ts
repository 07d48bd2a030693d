export { applyAll, DEFAULT_FIELD_MANAGER, type ApplyOptions, type ApplyResult, type AppliedEntry } from './apply.ts';
export { prune, PruneRefusedError, type PruneOptions } from './prune.ts';
export { health, type Health, type HealthStatus } from './health.ts';
export { waitForHealth, type HealthReport, type ObjectHealth, type WaitOptions } from './wait.ts';
export { summarize, type Action, type ChangeSet, type ChangeSetEntry } from './changeset.ts';
export { SSA_ANNOTATION, PRUNE_ANNOTATION, FORCE_ANNOTATION, ssaPolicy, pruneDisabled } from './annotations.ts';
export { inventoryId, parseInventoryId, subjectOf, describeObject, type Unstructured } from './object.ts';
export { changedFields, ownedFields, project, type FieldChange } from './fields.ts';
export { digest, canonicalJson } from './digest.ts';
