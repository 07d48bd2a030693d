import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after } from 'node:test';

/** Source trees on disk, as an unpacked artifact would be; removed after the file's tests. */
export function useTrees(prefix = 'tide-render-'): { tree(files: Record<string, string>): Promise<string>; dirs: string[] } {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  return {
    dirs,
    async tree(files) {
      const root = await mkdtemp(join(tmpdir(), prefix));
      dirs.push(root);
      for (const [p, content] of Object.entries(files)) {
        await mkdir(dirname(join(root, p)), { recursive: true });
        await writeFile(join(root, p), content);
      }
      return root;
    },
  };
}
