import { InvalidRefError } from './errors.ts';

/**
 * The identity of a control object: the same `flux-system/apps` Kustomization exists once per
 * cluster. `namespace` is empty for cluster-scoped objects.
 */
export interface ObjectRef {
  readonly cluster: string;
  readonly namespace: string;
  readonly kind: string;
  readonly name: string;
}

// Kubernetes' own rules: DNS-1123 labels for clusters and namespaces, subdomains for names.
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KIND = /^[A-Z][A-Za-z0-9]{0,62}$/;

/** Placeholder segment for cluster-scoped objects; `_` is not allowed in Kubernetes names. */
const CLUSTER_SCOPED = '_';

export function validateRef(ref: ObjectRef): ObjectRef {
  checkCluster(ref.cluster);
  if (ref.namespace !== '' && !LABEL.test(ref.namespace)) {
    throw new InvalidRefError('namespace', ref.namespace, 'use a DNS-1123 label (lower case letters, digits, "-"), or "" for cluster-scoped');
  }
  if (!KIND.test(ref.kind)) {
    throw new InvalidRefError('kind', ref.kind, 'use a Kubernetes kind such as Kustomization (letters and digits, upper case first)');
  }
  if (!SUBDOMAIN.test(ref.name)) {
    throw new InvalidRefError('name', ref.name, 'use a DNS-1123 subdomain (lower case letters, digits, "-" and ".")');
  }
  return ref;
}

export function checkCluster(cluster: string): string {
  if (!LABEL.test(cluster)) {
    throw new InvalidRefError('cluster', cluster, 'use a DNS-1123 label (lower case letters, digits, "-", at most 63)');
  }
  return cluster;
}

/** `cluster/namespace/Kind/name`, the form errors, events and logs print. */
export function formatRef(ref: ObjectRef): string {
  return `${ref.cluster}/${ref.namespace || CLUSTER_SCOPED}/${ref.kind}/${ref.name}`;
}

/** The key of one record of an object: `clusters/<cluster>/<area>/<namespace>/<Kind>/<name><suffix>`. */
export function refKey(area: string, ref: ObjectRef, suffix = '.json'): string {
  validateRef(ref);
  return `${areaPrefix(ref.cluster, area)}${ref.namespace || CLUSTER_SCOPED}/${ref.kind}/${ref.name}${suffix}`;
}

/** The prefix under which every record of one area of one cluster lives. */
export function areaPrefix(cluster: string, area: string): string {
  return `clusters/${checkCluster(cluster)}/${area}/`;
}

/** Reads a ref back from a key made by {@link refKey}; undefined for keys of another shape. */
export function refFromKey(key: string, suffix = '.json'): ObjectRef | undefined {
  const parts = key.split('/');
  if (parts.length !== 6 || parts[0] !== 'clusters' || !key.endsWith(suffix)) return undefined;
  const [, cluster, , ns, kind, file] = parts as [string, string, string, string, string, string];
  const name = file.slice(0, file.length - suffix.length);
  const ref = { cluster, namespace: ns === CLUSTER_SCOPED ? '' : ns, kind, name };
  try {
    return validateRef(ref);
  } catch {
    return undefined;
  }
}
