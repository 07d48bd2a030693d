/** A small fleet repo in the layout Flux users keep: clusters/<name>, infrastructure/, apps/. */
export const kustomization = (name: string, path: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: { name, namespace: 'flux-system' },
  spec: { interval: '10m', retryInterval: '1m', path, prune: true, sourceRef: { kind: 'GitRepository', name: 'flux-system' }, ...extra },
});

export const yamlOf = (o: unknown) => JSON.stringify(o, null, 2) + '\n'; // JSON is YAML

export function deploymentYaml(replicas: string, extra = ''): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
  namespace: podinfo
  labels: {app: podinfo, cluster: "\${cluster_name}"}${extra}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: podinfo}}
  template:
    metadata: {labels: {app: podinfo}}
    spec:
      containers:
      - name: podinfo
        image: ghcr.io/stefanprodan/podinfo:6.7.0
`;
}

/** The files of a fleet for the given clusters. */
export function fleet(clusters: string[], replicas = '${replicas:=2}'): Record<string, string> {
  const files: Record<string, string> = {
    'infrastructure/namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: podinfo\n',
    'apps/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deployment.yaml, settings.yaml]\n',
    'apps/deployment.yaml': deploymentYaml(replicas),
    'apps/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: podinfo\ndata:\n  level: info\n',
  };
  for (const c of clusters) {
    files[`clusters/${c}/infrastructure.yaml`] = yamlOf(kustomization('infrastructure', './infrastructure'));
    files[`clusters/${c}/apps.yaml`] = yamlOf(kustomization('apps', './apps', {
      dependsOn: [{ name: 'infrastructure' }],
      postBuild: { substitute: { cluster_name: c } },
    }));
  }
  return files;
}
