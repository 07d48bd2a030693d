import type { Condition, ObjectStatus } from '../store/types.ts';

/** Flux's condition reasons, as kustomize-controller and source-controller write them. */
export const Reason = {
  ReconciliationSucceeded: 'ReconciliationSucceeded',
  Progressing: 'Progressing',
  ArtifactFailed: 'ArtifactFailed',
  BuildFailed: 'BuildFailed',
  ReconciliationFailed: 'ReconciliationFailed',
  PruneFailed: 'PruneFailed',
  HealthCheckFailed: 'HealthCheckFailed',
  DependencyNotReady: 'DependencyNotReady',
  InvalidSpec: 'InvalidSpec',
  Suspended: 'Suspended',
  ArtifactInStorage: 'Succeeded',
  GitOperationFailed: 'GitOperationFailed',
  BucketOperationFailed: 'BucketOperationFailed',
  AuthenticationFailed: 'AuthenticationFailed',
  StorageOperationFailed: 'StorageOperationFailed',
} as const;

/** A status with Ready set (and Reconciling/Stalled kept consistent with it), keeping transition times. */
export function withReady(
  status: ObjectStatus | undefined,
  ready: 'True' | 'False' | 'Unknown',
  reason: string,
  message: string,
  now: Date,
  extra: Partial<ObjectStatus> & { stalled?: boolean; generation?: number } = {},
): ObjectStatus {
  const { stalled, generation, ...fields } = extra;
  let conditions = [...(status?.conditions ?? [])];
  conditions = setCondition(conditions, { type: 'Ready', status: ready, reason, message }, now, generation);
  conditions = conditions.filter((c) => c.type !== 'Reconciling' && c.type !== 'Stalled');
  if (ready === 'Unknown') conditions = setCondition(conditions, { type: 'Reconciling', status: 'True', reason, message }, now, generation);
  if (stalled) conditions = setCondition(conditions, { type: 'Stalled', status: 'True', reason, message }, now, generation);
  return { ...status, ...fields, conditions, ...(generation !== undefined ? { observedGeneration: generation } : {}) };
}

function setCondition(conditions: Condition[], c: Omit<Condition, 'lastTransitionTime'>, now: Date, generation?: number): Condition[] {
  const old = conditions.find((x) => x.type === c.type);
  const lastTransitionTime = old && old.status === c.status ? old.lastTransitionTime : now.toISOString();
  const next: Condition = { ...c, lastTransitionTime, ...(generation !== undefined ? { observedGeneration: generation } : {}) };
  return [...conditions.filter((x) => x.type !== c.type), next];
}

export function readyCondition(status: ObjectStatus | undefined): Condition | undefined {
  return status?.conditions.find((c) => c.type === 'Ready');
}

export function isReady(status: ObjectStatus | undefined): boolean {
  return readyCondition(status)?.status === 'True';
}
