/** Errors of the state store. Each names the key it is about and what to do. */

/** A conditional write lost its race: the stored version is not the one the caller read. */
export class StoreConflictError extends Error {
  override readonly name = 'StoreConflictError';
  constructor(readonly key: string, detail = 'it was changed by another writer since it was read') {
    super(`store: conditional write of ${key} refused: ${detail}; read it again and retry`);
  }
}

/** A stored object could not be read back: truncated, not JSON, or not of the expected shape. */
export class StoreCorruptError extends Error {
  override readonly name = 'StoreCorruptError';
  constructor(readonly key: string, readonly reason: string) {
    super(`store: ${key} is corrupt (${reason}); delete or rewrite that key, nothing else is affected`);
  }
}

/** A reference (cluster/namespace/kind/name) that cannot name a key safely. */
export class InvalidRefError extends Error {
  override readonly name = 'InvalidRefError';
  constructor(readonly field: string, readonly value: string, rule: string) {
    super(`store: invalid ${field} ${JSON.stringify(value)}: ${rule}`);
  }
}
