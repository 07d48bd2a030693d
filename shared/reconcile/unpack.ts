import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, normalize, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';

/** Unpacks an artifact (tar.gz) into a new temporary directory, refusing entries that escape it. */
export async function unpackArtifact(tarball: Uint8Array, prefix = 'tide-artifact-'): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const ex = extract();
  const done = new Promise<void>((resolveDone, reject) => {
    ex.on('entry', (header, stream, next) => {
      const name = normalize(header.name);
      const target = resolve(root, name);
      const rel = relative(root, target);
      const fail = (why: string) => {
        stream.resume();
        reject(new Error(`artifact entry ${JSON.stringify(header.name)} ${why}`));
      };
      if (isAbsolute(name) || rel.startsWith('..')) return fail('escapes the artifact');
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => void chunks.push(c as Buffer));
      stream.on('end', () => {
        const write = async () => {
          await mkdir(dirname(target), { recursive: true });
          if (header.type === 'directory') await mkdir(target, { recursive: true });
          else if (header.type === 'symlink') {
            const linkTarget = resolve(dirname(target), header.linkname ?? '');
            const lrel = relative(root, linkTarget);
            if (!header.linkname || isAbsolute(header.linkname) || lrel.startsWith('..')) throw new Error(`artifact symlink ${header.name} points outside the artifact`);
            await symlink(header.linkname, target);
          } else if (header.type === 'file') await writeFile(target, Buffer.concat(chunks), { mode: (header.mode ?? 0o644) & 0o755 });
        };
        write().then(() => next(), reject);
      });
      stream.on('error', reject);
    });
    ex.on('finish', resolveDone);
    ex.on('error', reject);
  });
  Readable.from([Buffer.from(tarball)]).pipe(createGunzip()).on('error', (e) => ex.destroy(e)).pipe(ex);
  await done;
  return root;
}
