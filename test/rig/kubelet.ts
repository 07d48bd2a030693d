import type { Kube } from './kube.ts';

interface PodList {
  items: Array<{ metadata: { name: string }; status?: { phase?: string } }>;
}

/**
 * The rig runs no kubelet, so Pods never start. Tests that need running Pods (an available
 * Deployment, a Ready StatefulSet) call this to write the status a kubelet would: Running, Ready,
 * every container started. Returns how many Pods it marked.
 */
export async function markPodsReady(kube: Kube, namespace: string, labelSelector = ''): Promise<number> {
  const q = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
  const pods = await kube.api<PodList>('GET', `/api/v1/namespaces/${namespace}/pods${q}`);
  if (pods.status !== 200) throw new Error(`rig kubelet: listing pods in ${namespace} answered ${pods.status}`);
  const now = new Date(Date.now() - 60_000).toISOString();
  let marked = 0;
  for (const pod of pods.body.items) {
    if (pod.status?.phase === 'Running') continue;
    const status = {
      status: {
        phase: 'Running',
        podIP: '10.244.0.10',
        hostIP: '127.0.0.1',
        startTime: now,
        conditions: ['Initialized', 'PodScheduled', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: now })),
      },
    };
    const res = await kube.api('PATCH', `/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}/status`, status, 'application/merge-patch+json');
    if (res.status !== 200) throw new Error(`rig kubelet: pod ${namespace}/${pod.metadata.name} status answered ${res.status}: ${JSON.stringify(res.body)}`);
    marked++;
  }
  return marked;
}
