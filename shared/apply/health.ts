import type { Unstructured } from './object.ts';

/** kstatus's verdicts: Current (healthy), InProgress (not yet), Failed (will not get there by waiting). */
export type HealthStatus = 'Current' | 'InProgress' | 'Failed';

export interface Health {
  status: HealthStatus;
  message: string;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

const cond = (o: Unstructured, type: string): Condition | undefined =>
  ((o.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === type);
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const current = (message = 'Resource is current'): Health => ({ status: 'Current', message });
const progressing = (message: string): Health => ({ status: 'InProgress', message });
const failed = (message: string): Health => ({ status: 'Failed', message });

/**
 * The health of one live object, by the kstatus rules (sigs.k8s.io/cli-utils/pkg/kstatus):
 * workloads by their rollout counters, Jobs by Complete/Failed, PVCs by Bound, LoadBalancer
 * Services by an ingress, CRDs by Established, Namespaces by Active, anything else by a Ready
 * condition (with Stalled meaning Failed), and objects without status as Current.
 */
export function health(o: Unstructured): Health {
  if (o.metadata.deletionTimestamp) return progressing('Resource is being deleted');
  const status = (o.status ?? {}) as Record<string, unknown>;
  const generation = o.metadata.generation;
  if (generation !== undefined && typeof status.observedGeneration === 'number' && status.observedGeneration < generation) {
    return progressing(`Resource is being processed: generation ${generation}, observed ${status.observedGeneration}`);
  }
  const spec = (o.spec ?? {}) as Record<string, unknown>;
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
  const key = `${group}/${o.kind}`;
  switch (key) {
    case 'apps/Deployment': {
      if (status.observedGeneration === undefined) return progressing('Deployment not yet observed');
      const want = typeof spec.replicas === 'number' ? spec.replicas : 1;
      const p = cond(o, 'Progressing');
      if (p?.reason === 'ProgressDeadlineExceeded') return failed(`Progress deadline exceeded: ${p.message ?? ''}`);
      if (num(status.updatedReplicas) < want) return progressing(`Updated: ${num(status.updatedReplicas)}/${want}`);
      if (num(status.replicas) > num(status.updatedReplicas)) return progressing(`Pending termination: ${num(status.replicas) - num(status.updatedReplicas)}`);
      if (num(status.availableReplicas) < want) return progressing(`Available: ${num(status.availableReplicas)}/${want}`);
      if (num(status.readyReplicas) < want) return progressing(`Ready: ${num(status.readyReplicas)}/${want}`);
      return current(`Deployment is available. Replicas: ${want}`);
    }
    case 'apps/StatefulSet': {
      if (status.observedGeneration === undefined) return progressing('StatefulSet not yet observed');
      const want = typeof spec.replicas === 'number' ? spec.replicas : 1;
      if (num(status.readyReplicas) < want) return progressing(`Ready: ${num(status.readyReplicas)}/${want}`);
      const strategy = spec.updateStrategy as { type?: string; rollingUpdate?: { partition?: number } } | undefined;
      if ((strategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
        const partition = strategy?.rollingUpdate?.partition ?? 0;
        if (num(status.updatedReplicas) < want - partition) return progressing(`Updated: ${num(status.updatedReplicas)}/${want - partition}`);
        if (partition === 0 && status.currentRevision !== status.updateRevision) return progressing(`Waiting for revision ${String(status.updateRevision)}`);
      }
      return current(`StatefulSet is ready. Replicas: ${want}`);
    }
    case 'apps/DaemonSet': {
      if (status.observedGeneration === undefined) return progressing('DaemonSet not yet observed');
      const want = num(status.desiredNumberScheduled);
      if (num(status.updatedNumberScheduled) < want) return progressing(`Updated: ${num(status.updatedNumberScheduled)}/${want}`);
      if (num(status.numberAvailable) < want) return progressing(`Available: ${num(status.numberAvailable)}/${want}`);
      if (num(status.numberReady) < want) return progressing(`Ready: ${num(status.numberReady)}/${want}`);
      return current(`All replicas scheduled as expected. Replicas: ${want}`);
    }
    case 'apps/ReplicaSet': {
      const f = cond(o, 'ReplicaFailure');
      if (f?.status === 'True') return failed(`ReplicaFailure: ${f.message ?? ''}`);
      const want = typeof spec.replicas === 'number' ? spec.replicas : 1;
      if (num(status.availableReplicas) < want) return progressing(`Available: ${num(status.availableReplicas)}/${want}`);
      if (num(status.readyReplicas) < want) return progressing(`Ready: ${num(status.readyReplicas)}/${want}`);
      return current(`ReplicaSet is available. Replicas: ${want}`);
    }
    case '/Pod': {
      const phase = status.phase;
      if (phase === 'Succeeded') return current('Pod has completed successfully');
      if (phase === 'Failed') return failed(`Pod failed: ${String(status.reason ?? status.message ?? '')}`);
      if (phase === 'Running' && cond(o, 'Ready')?.status === 'True') return current('Pod is Ready');
      const waiting = ((status.containerStatuses as Array<{ name: string; state?: { waiting?: { reason?: string } } }>) ?? [])
        .map((c) => c.state?.waiting?.reason && `${c.name}: ${c.state.waiting.reason}`).filter(Boolean);
      return progressing(`Pod ${String(phase ?? 'Pending')}${waiting.length ? ` (${waiting.join(', ')})` : ''}`);
    }
    case 'batch/Job': {
      if (cond(o, 'Failed')?.status === 'True') return failed(`Job failed: ${cond(o, 'Failed')?.message ?? ''}`);
      if (cond(o, 'Complete')?.status === 'True') return current('Job Completed');
      return progressing(`Job in progress: ${num(status.succeeded)} succeeded, ${num(status.active)} active`);
    }
    case '/PersistentVolumeClaim':
      return status.phase === 'Bound' ? current('PVC is Bound') : progressing(`PVC is ${String(status.phase ?? 'Pending')}`);
    case '/Service': {
      if (spec.type !== 'LoadBalancer') return current('Service is ready');
      const ingress = (status.loadBalancer as { ingress?: unknown[] } | undefined)?.ingress ?? [];
      return ingress.length > 0 ? current('Service is ready') : progressing('LoadBalancer Service has no ingress yet');
    }
    case 'apiextensions.k8s.io/CustomResourceDefinition': {
      const names = cond(o, 'NamesAccepted');
      if (names?.status === 'False') return failed(`CRD names not accepted: ${names.message ?? ''}`);
      return cond(o, 'Established')?.status === 'True' ? current('CRD is established') : progressing('CRD is not established yet');
    }
    case '/Namespace':
      return status.phase === 'Terminating' ? progressing('Namespace is terminating') : current('Namespace is active');
    default: {
      const stalled = cond(o, 'Stalled');
      if (stalled?.status === 'True') return failed(`${stalled.reason ?? 'Stalled'}: ${stalled.message ?? ''}`);
      if (cond(o, 'Reconciling')?.status === 'True') return progressing(cond(o, 'Reconciling')?.message ?? 'Reconciling');
      const ready = cond(o, 'Ready');
      if (ready) return ready.status === 'True' ? current(ready.message ?? 'Ready') : progressing(`${ready.reason ?? 'NotReady'}: ${ready.message ?? ''}`);
      return current();
    }
  }
}
