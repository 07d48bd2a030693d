import type { Unstructured } from './object.ts';

/** Flux's annotations, honoured as Flux does. */
export const SSA_ANNOTATION = 'kustomize.toolkit.fluxcd.io/ssa';
export const PRUNE_ANNOTATION = 'kustomize.toolkit.fluxcd.io/prune';
export const FORCE_ANNOTATION = 'kustomize.toolkit.fluxcd.io/force';

export type SsaPolicy = 'Override' | 'Merge' | 'IfNotPresent' | 'Ignore';

/** `ssa: Ignore` never applies, `IfNotPresent` only creates, `Merge` keeps fields other tools own; default Override. */
export function ssaPolicy(o: Unstructured): SsaPolicy {
  const v = o.metadata.annotations?.[SSA_ANNOTATION]?.toLowerCase();
  if (v === 'ignore') return 'Ignore';
  if (v === 'ifnotpresent') return 'IfNotPresent';
  if (v === 'merge') return 'Merge';
  return 'Override';
}

export function pruneDisabled(o: Unstructured): boolean {
  return o.metadata.annotations?.[PRUNE_ANNOTATION]?.toLowerCase() === 'disabled';
}

export function forceEnabled(o: Unstructured): boolean {
  return o.metadata.annotations?.[FORCE_ANNOTATION]?.toLowerCase() === 'enabled';
}
