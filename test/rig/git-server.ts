import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One request the Git server answered, for tests that count what a fetch cost. */
export interface GitRequest {
  method: string;
  path: string;
  service: string;
  user: string | undefined;
  status: number;
}

/** A real Git server on loopback: `git http-backend` behind basic auth. */
export interface GitServer {
  readonly root: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly requests: GitRequest[];
  /** `http://127.0.0.1:<port>/<name>.git` (no credentials). */
  url(repo: string): string;
  /** The same with the credentials in it, for git commands run by the test itself. */
  authUrl(repo: string): string;
  /** Creates an empty bare repository. */
  createRepo(repo: string): Promise<void>;
  /**
   * Commits files (path -> content; null deletes) on a branch and pushes over HTTP, as a person
   * would. Returns the new commit's SHA.
   */
  commit(repo: string, files: Record<string, string | null>, options?: { branch?: string; message?: string; tag?: string }): Promise<string>;
  stop(): Promise<void>;
}

export interface GitServerOptions {
  readonly username?: string;
  readonly password?: string;
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Tide Rig', GIT_AUTHOR_EMAIL: 'rig@tide.invalid',
  GIT_COMMITTER_NAME: 'Tide Rig', GIT_COMMITTER_EMAIL: 'rig@tide.invalid',
  GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0',
};

export async function git(args: string[], cwd?: string): Promise<string> {
  try {
    const { stdout } = await run('git', args, { cwd, env: { ...process.env, ...GIT_ENV, HOME: tmpdir() }, maxBuffer: 64 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`git ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

export async function startGitServer(options: GitServerOptions = {}): Promise<GitServer> {
  const root = await mkdtemp(join(tmpdir(), 'tide-git-'));
  const repos = join(root, 'repos');
  await mkdir(repos);
  const username = options.username ?? 'tide';
  const password = options.password ?? 'rig-password';
  const requests: GitRequest[] = [];

  const server = createServer((req, res) => {
    void handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://rig');
    const record = (status: number, user?: string) =>
      requests.push({ method: req.method ?? '', path: url.pathname, service: url.searchParams.get('service') ?? url.pathname.split('/').pop() ?? '', user, status });
    const user = checkBasicAuth(req.headers.authorization, username, password);
    if (!user) {
      record(401);
      res.writeHead(401, { 'www-authenticate': 'Basic realm="tide rig"' });
      res.end('authentication required\n');
      return;
    }
    // git http-backend, a CGI program: request in on stdin and variables, response with CGI headers.
    const child = spawn('git', ['http-backend'], {
      env: {
        ...process.env,
        GIT_PROJECT_ROOT: repos,
        GIT_HTTP_EXPORT_ALL: '1',
        GIT_CONFIG_NOSYSTEM: '1',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: user, // also enables receive-pack (push)
        REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    req.pipe(child.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    let status = 200;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const k = line.slice(0, i).trim().toLowerCase();
        const v = line.slice(i + 1).trim();
        if (k === 'status') status = Number.parseInt(v, 10);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve) => child.on('close', () => resolve()));
    if (!headersDone) {
      status = 500;
      res.writeHead(500);
      res.write(stderr);
    }
    record(status, user);
    res.end();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const url = (repo: string) => `http://127.0.0.1:${port}/${repo}.git`;
  const authUrl = (repo: string) => `http://${encodeURIComponent(username)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${repo}.git`;

  return {
    root: repos,
    port,
    username,
    password,
    requests,
    url,
    authUrl,
    async createRepo(repo) {
      await git(['init', '--quiet', '--bare', '--initial-branch=main', join(repos, `${repo}.git`)]);
      await git(['config', 'uploadpack.allowFilter', 'true'], join(repos, `${repo}.git`));
      await git(['config', 'uploadpack.allowReachableSHA1InWant', 'true'], join(repos, `${repo}.git`));
    },
    async commit(repo, files, opts = {}) {
      const branch = opts.branch ?? 'main';
      const work = await mkdtemp(join(tmpdir(), 'tide-git-work-'));
      try {
        await git(['init', '--quiet', `--initial-branch=${branch}`, work]);
        await git(['remote', 'add', 'origin', authUrl(repo)], work);
        const remoteHas = (await git(['ls-remote', 'origin', `refs/heads/${branch}`], work)).trim() !== '';
        if (remoteHas) {
          await git(['fetch', '--quiet', 'origin', branch], work);
          await git(['checkout', '--quiet', '-B', branch, 'FETCH_HEAD'], work);
        }
        for (const [path, content] of Object.entries(files)) {
          const file = join(work, path);
          if (content === null) {
            await rm(file, { force: true, recursive: true });
          } else {
            await mkdir(dirname(file), { recursive: true });
            await writeFile(file, content);
          }
        }
        await git(['add', '--all'], work);
        await git(['commit', '--quiet', '--allow-empty', '-m', opts.message ?? `update ${Object.keys(files).join(', ')}`], work);
        await git(['push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`], work);
        if (opts.tag) await git(['push', '--quiet', 'origin', `HEAD:refs/tags/${opts.tag}`], work);
        return (await git(['rev-parse', 'HEAD'], work)).trim();
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(root, { recursive: true, force: true });
    },
  };
}

function checkBasicAuth(header: string | undefined, username: string, password: string): string | undefined {
  const m = /^Basic\s+(.+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  const [u, p] = [decoded.slice(0, i), decoded.slice(i + 1)];
  return i > 0 && u === username && p === password ? u : undefined;
}
