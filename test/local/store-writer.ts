// Another process writing the store, as `tide bootstrap`, `tide reconcile` or `tide suspend` do.
// argv: <store directory> <JSON list of {put: ref, value} | {delete: ref}>, applied in order.
import { DirectoryBlobStore, StateStore, type ObjectRef } from '../../shared/store/index.ts';
import type { KubeObject } from '../../shared/store/types.ts';

type Op = { put: ObjectRef; value: KubeObject } | { delete: ObjectRef };

const [root, opsArg] = process.argv.slice(2) as [string, string];
const store = new StateStore(new DirectoryBlobStore(root));
for (const op of JSON.parse(opsArg) as Op[]) {
  if ('put' in op) await store.objects.put(op.put, op.value);
  else await store.objects.delete(op.delete);
}
