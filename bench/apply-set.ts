import type { Unstructured } from '../shared/apply/index.ts';

/** The benchmark's set: 1,000 objects, ConfigMaps, Services and Deployments across 20 namespaces. */
export const NAMESPACES = 20;
const PER_NAMESPACE = 50;

export const ownerLabels = { 'kustomize.toolkit.fluxcd.io/name': 'bench', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' };

export function objects(rev: number): Unstructured[] {
  const out: Unstructured[] = [];
  for (let n = 0; n < NAMESPACES; n++) {
    const ns = `bench-${n}`;
    for (let i = 0; i < PER_NAMESPACE; i++) {
      const name = `app-${i}`;
      const labels = { app: name, ...ownerLabels };
      const annotations = { 'bench/revision': String(rev) };
      if (i % 3 === 0) {
        out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels, annotations }, data: { 'config.yaml': `level: info\nrev: ${rev}\n`, size: '1024Mi' } });
      } else if (i % 3 === 1) {
        out.push({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns, labels, annotations }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } });
      } else {
        out.push({
          apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns, labels, annotations },
          spec: {
            replicas: 1, selector: { matchLabels: { app: name } },
            template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'ghcr.io/stefanprodan/podinfo:6.7.0', resources: { requests: { memory: '1024Mi', cpu: '0.1' } }, ports: [{ name: 'http', containerPort: 9898 }] }] } },
          },
        });
      }
    }
  }
  return out;
}

