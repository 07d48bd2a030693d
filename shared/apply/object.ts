/** A Kubernetes object as plain JSON, exactly as rendered: never through typed models. */
export interface Unstructured {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    generation?: number;
    resourceVersion?: string;
    uid?: string;
    deletionTimestamp?: string;
    managedFields?: ManagedFieldsEntry[];
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update';
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: FieldSet;
  subresource?: string;
}

/** A fieldsV1 set: keys `f:<field>`, `k:<json key>`, `v:<json value>`, `i:<index>`, `.`. */
export interface FieldSet {
  [key: string]: FieldSet;
}

/** `Kind/namespace/name` (Flux's subject form), `Kind/name` for cluster-scoped objects. */
export function subjectOf(o: Pick<Unstructured, 'kind' | 'metadata'>): string {
  return o.metadata.namespace ? `${o.kind}/${o.metadata.namespace}/${o.metadata.name}` : `${o.kind}/${o.metadata.name}`;
}

/** `apps/v1 Deployment podinfo/podinfo`, the form error messages use. */
export function describeObject(o: Pick<Unstructured, 'apiVersion' | 'kind' | 'metadata'>): string {
  return `${o.apiVersion} ${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}

export function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
}

export function versionOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;
}

/** Flux's inventory id: `<namespace>_<name>_<group>_<kind>`. */
export function inventoryId(o: Pick<Unstructured, 'apiVersion' | 'kind' | 'metadata'>): string {
  return `${o.metadata.namespace ?? ''}_${o.metadata.name}_${groupOf(o.apiVersion)}_${o.kind}`;
}

/** Reads an inventory id back. */
export function parseInventoryId(id: string, version: string): { apiVersion: string; kind: string; namespace: string; name: string } {
  const parts = id.split('_');
  if (parts.length !== 4) throw new Error(`inventory entry ${JSON.stringify(id)} is not of the form <namespace>_<name>_<group>_<kind>`);
  const [namespace, name, group, kind] = parts as [string, string, string, string];
  return { apiVersion: group ? `${group}/${version}` : version, kind, namespace, name };
}

export const isCRD = (o: Pick<Unstructured, 'apiVersion' | 'kind'>): boolean =>
  o.kind === 'CustomResourceDefinition' && groupOf(o.apiVersion) === 'apiextensions.k8s.io';
export const isNamespace = (o: Pick<Unstructured, 'apiVersion' | 'kind'>): boolean => o.kind === 'Namespace' && o.apiVersion === 'v1';
