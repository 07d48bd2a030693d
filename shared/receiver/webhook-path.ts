import { createHash } from 'node:crypto';

/** Where every Receiver's webhook is served, as in Flux (`apiv1.ReceiverWebhookPath`). */
export const WEBHOOK_PATH_PREFIX = '/hook/';

/**
 * A Receiver's webhook path: `/hook/<sha256 hex of token+name+namespace+cluster>`. Flux hashes
 * token+name+namespace; the cluster is added because one Tide install serves many clusters, where
 * the same Receiver (and, if copied, the same token) may exist in each. The token makes the path
 * unguessable, so for a `generic` Receiver the path is the only secret; rotating the token moves it.
 */
export function webhookPath(cluster: string, namespace: string, name: string, token: string): string {
  return WEBHOOK_PATH_PREFIX + createHash('sha256').update(token + name + namespace + cluster, 'utf8').digest('hex');
}
