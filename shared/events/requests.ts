import type { ObjectRef } from '../store/refs.ts';
import { DetailType, newEvent, type TideEvent } from './event.ts';

/** A "Reconcile Requested" for one object: what the receiver, the scheduler and the S3 routes send. */
export function reconcileRequest(ref: ObjectRef, reason: string, message: string, controller: string, metadata?: Record<string, string>): TideEvent {
  return newEvent(DetailType.ReconcileRequested, {
    involvedObject: { kind: ref.kind, namespace: ref.namespace, name: ref.name },
    cluster: ref.cluster,
    severity: 'info',
    reason,
    message,
    ...(metadata ? { metadata } : {}),
    reportingController: controller,
  });
}
