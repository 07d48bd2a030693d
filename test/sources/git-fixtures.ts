import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import { GitSourceError } from '../../shared/sources/git/index.ts';
import { git, type GitServer } from '../rig/git-server.ts';

/** One entry of an artifact as the tests read it back. */
export interface TarEntry {
  type: string;
  mode: number;
  mtime: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  linkname: string | null;
  content: string;
}

/** The entries of a tar.gz, in the order they are stored. */
export async function readTarball(bytes: Uint8Array): Promise<Map<string, TarEntry>> {
  const ex = extract();
  ex.end(gunzipSync(bytes));
  const out = new Map<string, TarEntry>();
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    const h = entry.header;
    out.set(h.name, {
      type: h.type, mode: h.mode, mtime: h.mtime.getTime(), uid: h.uid, gid: h.gid, uname: h.uname, gname: h.gname,
      linkname: h.linkname || null, content: Buffer.concat(chunks).toString('utf8'),
    });
  }
  return out;
}

/**
 * Clones the repository (full history) into a scratch directory, lets the test run its own git
 * commands there (tags, symlinks, modes), and removes it. Returns what `fn` returns.
 */
export async function inClone<T>(server: GitServer, repo: string, fn: (work: string) => Promise<T>): Promise<T> {
  const work = await mkdtemp(join(tmpdir(), 'tide-git-clone-'));
  try {
    await git(['clone', '--quiet', server.authUrl(repo), work]);
    return await fn(work);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** `git add --all && git commit && git push` in a scratch clone; returns the new commit. */
export async function commitAndPush(work: string, message: string, branch = 'main'): Promise<string> {
  await git(['add', '--all'], work);
  await git(['commit', '--quiet', '-m', message], work);
  await git(['push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`], work);
  return (await git(['rev-parse', 'HEAD'], work)).trim();
}

/**
 * A reverse proxy in front of the rig's Git server that lets through only requests carrying one
 * exact Authorization header (a bearer token, or basic auth with another user), and forwards them
 * with the rig's own credentials. `seen` has the Authorization header of every request, in order.
 */
export interface AuthProxy {
  url(repo: string): string;
  readonly seen: string[];
  stop(): Promise<void>;
}

export async function startAuthProxy(server: GitServer, accept: string): Promise<AuthProxy> {
  const seen: string[] = [];
  const basic = `Basic ${Buffer.from(`${server.username}:${server.password}`).toString('base64')}`;
  const proxy = createServer((req: IncomingMessage, res: ServerResponse) => {
    const auth = req.headers.authorization ?? '';
    seen.push(auth);
    if (auth !== accept) {
      res.writeHead(401, { 'www-authenticate': `${accept.split(' ')[0]} realm="tide proxy"` });
      res.end('authentication required\n');
      return;
    }
    const upstream = request(
      { host: '127.0.0.1', port: server.port, method: req.method, path: req.url, headers: { ...req.headers, authorization: basic } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as { port: number }).port;
  return {
    url: (repo) => `http://127.0.0.1:${port}/${repo}.git`,
    seen,
    async stop() {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}

/** Asserts that `p` fails with a GitSourceError of this reason (and message), and returns it. */
export async function rejectsWith(p: Promise<unknown>, reason: GitSourceError['reason'], message?: RegExp): Promise<GitSourceError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof GitSourceError, `expected a GitSourceError, got ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected a ${reason} failure`);
}
