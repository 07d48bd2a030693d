/**
 * Where the receiver function looks a webhook path up: `receivers/<sha256>.json` holds the
 * cluster/namespace/name of the Receiver. The path's digest covers the token, so a path is
 * unguessable and the index reveals nothing a URL does not.
 */
export function receiverIndexKey(path: string): string {
  const digest = /^\/hook\/([a-f0-9]{64})$/.exec(path)?.[1];
  if (!digest) throw new Error(`webhook path ${JSON.stringify(path.slice(0, 100))} is not /hook/<sha256>`);
  return `receivers/${digest}.json`;
}

export interface ReceiverIndexEntry {
  cluster: string;
  namespace: string;
  name: string;
}
