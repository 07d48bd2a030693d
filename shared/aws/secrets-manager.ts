import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretSource } from '../reconcile/context.ts';
import { registerSecret } from '../redact.ts';
import { formatRef, validateRef, type ObjectRef } from '../store/refs.ts';

export interface SecretsManagerSecretsOptions {
  /** Name prefix of Tide's secrets; default `tide/` (`TIDE_SECRETS_PREFIX`). */
  readonly prefix?: string;
  /**
   * How long a secret read is reused by a warm function; default 60 s. A source polled every
   * minute on a fleet of a thousand would otherwise read its credentials 1.4 million times a day
   * (GetSecretValue is billed per call); a rotated secret reaches Tide within this time.
   */
  readonly cacheMs?: number;
  readonly now?: () => number;
}

/**
 * Tide's own secrets on AWS: the Secrets Manager secret `<prefix><cluster>/<namespace>/<name>`,
 * whose SecretString is a JSON map of strings (a Kubernetes Secret's stringData). Every value read
 * is registered for redaction. Errors name the secret's id and never its value.
 */
export class SecretsManagerSecrets implements SecretSource {
  readonly prefix: string;
  private readonly cacheMs: number;
  private readonly now: () => number;
  /** Secrets found, by id; a missing one is not remembered (it may be created any moment). */
  private readonly cache = new Map<string, { at: number; value: Record<string, string> }>();

  constructor(
    private readonly client: SecretsManagerClient,
    /** The options, or just the prefix. */
    options: SecretsManagerSecretsOptions | string = {},
  ) {
    const o = typeof options === 'string' ? { prefix: options } : options;
    this.prefix = o.prefix ?? 'tide/';
    this.cacheMs = o.cacheMs ?? 60_000;
    this.now = o.now ?? Date.now;
  }

  /** The secret's id for a ref. */
  secretId(ref: ObjectRef): string {
    validateRef(ref);
    if (!ref.namespace) throw new Error(`secret ${formatRef(ref)}: a Secret is namespaced; name its namespace`);
    return `${this.prefix}${ref.cluster}/${ref.namespace}/${ref.name}`;
  }

  async get(ref: ObjectRef): Promise<Record<string, string> | undefined> {
    const id = this.secretId(ref);
    const hit = this.cache.get(id);
    if (hit && this.now() - hit.at < this.cacheMs) return hit.value;
    const value = await this.read(id);
    if (value) this.cache.set(id, { at: this.now(), value });
    else this.cache.delete(id);
    return value;
  }

  private async read(id: string): Promise<Record<string, string> | undefined> {
    const text = await getSecretString(this.client, id);
    if (text === undefined) return undefined;
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new Error(`Secrets Manager secret ${id} is not a JSON map of strings (as a Secret's stringData: {"key": "value"}); its value is not shown`);
    }
    if (!data || typeof data !== 'object' || Array.isArray(data)) {
      throw new Error(`Secrets Manager secret ${id} is not a JSON map of strings (as a Secret's stringData: {"key": "value"}); its value is not shown`);
    }
    const bad = Object.entries(data).filter(([, v]) => typeof v !== 'string').map(([k]) => k);
    if (bad.length) {
      // Register whatever strings there are anyway: they are secret even though the map is wrong.
      for (const v of Object.values(data)) if (typeof v === 'string') registerSecret(v);
      throw new Error(`Secrets Manager secret ${id} is not a JSON map of strings: the value of ${bad.map((k) => JSON.stringify(k)).join(', ')} is not a string`);
    }
    for (const v of Object.values(data as Record<string, string>)) registerSecret(v);
    return data as Record<string, string>;
  }
}

/**
 * The SecretString of a secret, undefined when there is no such secret. Access denied, a KMS
 * failure or a binary-only secret are errors that say what to grant or store.
 */
export async function getSecretString(client: SecretsManagerClient, id: string): Promise<string | undefined> {
  let out;
  try {
    out = await client.send(new GetSecretValueCommand({ SecretId: id }));
  } catch (err) {
    const e = err as { name?: string; message?: string };
    switch (e.name) {
      case 'ResourceNotFoundException':
        return undefined;
      case 'AccessDeniedException':
        throw new Error(`reading Secrets Manager secret ${id}: access denied: grant the function's role secretsmanager:GetSecretValue on it (and kms:Decrypt on its key if it uses a customer managed key)`);
      case 'DecryptionFailure':
        throw new Error(`reading Secrets Manager secret ${id}: its KMS key could not decrypt it: grant the function's role kms:Decrypt on the secret's key`);
      case 'InvalidRequestException':
        throw new Error(`reading Secrets Manager secret ${id}: ${e.message ?? e.name} (a secret scheduled for deletion cannot be read; restore it)`);
      default:
        throw new Error(`reading Secrets Manager secret ${id}: ${e.name ?? 'error'}: ${e.message ?? String(err)}`);
    }
  }
  if (out.SecretString === undefined) {
    throw new Error(`Secrets Manager secret ${id} has no SecretString (only binary data): store the value as a string`);
  }
  registerSecret(out.SecretString);
  return out.SecretString;
}
