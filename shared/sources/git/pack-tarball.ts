import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { pack as tarPack, type Header, type Pack } from 'tar-stream';

/** One entry of the artifact: a regular file (its bytes read when packed) or a symlink. */
export type PackEntry =
  | { path: string; type: 'file'; executable: boolean; read: () => Promise<Uint8Array> }
  | { path: string; type: 'symlink'; target: string };

export interface Packed {
  /** The tar.gz, or undefined when it came out larger than the limit. */
  bytes: Uint8Array | undefined;
  /** Its size in bytes (counted in full even past the limit, for the message). */
  size: number;
}

const EPOCH = new Date(0);

/**
 * A deterministic tar.gz: entries sorted by path (code-unit order), mtime 0, uid/gid 0, no user
 * or group names, mode 0644 (0755 for executables, 0777 for symlinks), no directory entries.
 * The same entries always give the same bytes, so the digest names the content.
 */
export async function packTarball(entries: readonly PackEntry[], maxBytes: number): Promise<Packed> {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const pack = tarPack();
  const chunks: Buffer[] = [];
  let size = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else chunks.length = 0; // over the limit: keep counting, stop keeping
      done();
    },
  });
  const packed = pipeline(pack, createGzip({ level: 9 }), sink);
  const write = async () => {
    for (const e of sorted) {
      const common = { name: e.path, mtime: EPOCH, uid: 0, gid: 0, uname: '', gname: '' };
      if (e.type === 'symlink') {
        await add(pack, { ...common, type: 'symlink', linkname: e.target, mode: 0o777, size: 0 });
      } else {
        const data = await e.read();
        await add(pack, { ...common, type: 'file', mode: e.executable ? 0o755 : 0o644, size: data.length }, data);
      }
    }
    pack.finalize();
  };
  try {
    await Promise.all([write(), packed]);
  } catch (err) {
    pack.destroy();
    throw err;
  }
  return { bytes: size <= maxBytes ? new Uint8Array(Buffer.concat(chunks)) : undefined, size };
}

function add(pack: Pack, header: Partial<Header> & { name: string }, body?: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const cb = (err?: Error | null) => (err ? reject(err) : resolve());
    if (body) pack.entry(header, body, cb);
    else pack.entry(header, cb);
  });
}
