/**
 * Tide's events: every arrow between functions and every outcome a person may want to hear of.
 * The detail follows Flux's event shape (fluxcd/pkg runtime/events.Event), so that what a Flux
 * user routes today (involvedObject, severity, reason, message, metadata) keeps its meaning.
 * docs/events.md documents each detail-type; keep the two in step.
 */

/** The EventBridge `source` of every Tide event. */
export const EVENT_SOURCE = 'tide';

export const DetailType = {
  /** Something asks for an object to be reconciled now: a webhook, the schedule, a dependency, a person. */
  ReconcileRequested: 'Reconcile Requested',
  /** A source fetched a new revision and stored its artifact. */
  SourceUpdated: 'Source Updated',
  /** An object was reconciled: Ready=True. */
  ReconcileSucceeded: 'Reconcile Succeeded',
  /** An object failed to reconcile: Ready=False, with the phase's reason. */
  ReconcileFailed: 'Reconcile Failed',
  /** Objects changed in the cluster by hand were put back to Git's state. */
  DriftCorrected: 'Drift Corrected',
  /** A new image tag was selected by an ImagePolicy. */
  ImagePolicyUpdated: 'Image Policy Updated',
} as const;
export type DetailType = (typeof DetailType)[keyof typeof DetailType];

export type Severity = 'info' | 'error';

export interface InvolvedObject {
  kind: string;
  namespace: string;
  name: string;
  apiVersion?: string;
}

/** The `detail` of every Tide event. */
export interface EventDetail {
  involvedObject: InvolvedObject;
  /** The registered cluster the object belongs to. */
  cluster: string;
  severity: Severity;
  /** Flux's reason, such as ReconciliationSucceeded, BuildFailed, HealthCheckFailed. */
  reason: string;
  message: string;
  /** The source revision, as Flux writes it: `main@sha1:<commit>`. */
  revision?: string;
  metadata?: Record<string, string>;
  /** RFC 3339. */
  timestamp: string;
  /** Which part of Tide reported it: source, reconcile, helm, receiver, scheduler, image. */
  reportingController: string;
}

export interface TideEvent {
  detailType: DetailType | string;
  detail: EventDetail;
}

/** Builds an event, stamping the time. */
export function newEvent(
  detailType: DetailType,
  detail: Omit<EventDetail, 'timestamp'> & { timestamp?: string },
): TideEvent {
  return { detailType, detail: { ...detail, timestamp: detail.timestamp ?? new Date().toISOString() } };
}

/** `cluster/namespace/Kind/name`, the identity every message carries. */
export function eventSubject(e: TideEvent): string {
  const o = e.detail?.involvedObject;
  return `${e.detail?.cluster}/${o?.namespace || '_'}/${o?.kind}/${o?.name}`;
}
