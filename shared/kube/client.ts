import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { KubeAccess, KubeTls } from './access.ts';

/** An answer from the apiserver: status code and parsed JSON body (or text). */
export interface KubeResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** A failed apiserver call, with the Status reason and message Kubernetes gave. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly apiMessage: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path}: ${status} ${reason}: ${apiMessage}`);
  }
}

export interface RequestArgs {
  readonly body?: unknown;
  readonly contentType?: string;
  readonly query?: Record<string, string | number | boolean | undefined>;
}

export interface KubeClientOptions {
  /** Parallel connections to the apiserver; default 16. */
  readonly maxSockets?: number;
}

/**
 * A raw JSON client for one cluster. Bodies go out as plain JSON and come back as plain JSON:
 * never through @kubernetes/client-node's typed models, which drop fields they do not know
 * (CRD schemas lose x-kubernetes-*, default, enum). Node's own http(s) with a keep-alive pool:
 * a reconcile makes many calls, and a Lambda bundle carries no HTTP library.
 */
export class KubeClient {
  readonly server: string;
  private pool: { tls: KubeTls; agent: HttpAgent } | undefined;
  private readonly maxSockets: number;
  private readonly secure: boolean;

  constructor(private readonly access: KubeAccess, options: KubeClientOptions = {}) {
    this.server = access.server.replace(/\/+$/, '');
    this.secure = new URL(this.server).protocol === 'https:';
    this.maxSockets = options.maxSockets ?? 16;
  }

  /**
   * The keep-alive pool for this TLS material: made once, and again only when the material
   * changes (an exec plugin's new client certificate). Credentials themselves are asked per
   * request; their sources cache (an EKS token is remade before it expires).
   */
  private agentFor(tls: KubeTls): HttpAgent {
    const p = this.pool;
    if (p && p.tls.ca === tls.ca && p.tls.cert === tls.cert && p.tls.key === tls.key && p.tls.servername === tls.servername && p.tls.rejectUnauthorized === tls.rejectUnauthorized) return p.agent;
    p?.agent.destroy();
    const pool = { keepAlive: true, keepAliveMsecs: 30_000, maxSockets: this.maxSockets, scheduling: 'lifo' as const };
    const agent = this.secure
      ? new HttpsAgent({ ...pool, ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.servername, rejectUnauthorized: tls.rejectUnauthorized !== false })
      : new HttpAgent(pool);
    this.pool = { tls, agent };
    return agent;
  }

  async request<T = unknown>(method: string, path: string, args: RequestArgs = {}): Promise<KubeResponse<T>> {
    let res = await this.send<T>(method, path, args);
    if (res.status === 401) res = await this.send<T>(method, path, args, true); // a token may have expired: refresh once
    // 429: the apiserver is busy or (for a kind whose CRD just became Established) still
    // initializing its storage. Every call here is safe to repeat (apply is idempotent).
    for (let attempt = 1; res.status === 429 && attempt <= 8; attempt++) {
      const after = Number(res.headers['retry-after']);
      await new Promise((r) => setTimeout(r, Math.min(Number.isFinite(after) && after > 0 ? after * 1000 : 100 * attempt, 2_000)));
      res = await this.send<T>(method, path, args);
    }
    return res;
  }

  /** Like request(), but anything not 2xx is a KubeApiError. */
  async call<T = unknown>(method: string, path: string, args: RequestArgs = {}): Promise<T> {
    const res = await this.request<T>(method, path, args);
    if (res.status < 200 || res.status > 299) throw apiError(res, method, path);
    return res.body;
  }

  close(): void {
    this.pool?.agent.destroy();
    this.pool = undefined;
  }

  private async send<T>(method: string, path: string, args: RequestArgs, refresh = false): Promise<KubeResponse<T>> {
    const creds = await this.access.credentials(refresh);
    const agent = this.agentFor(creds.tls);
    const query = args.query
      ? Object.entries(args.query)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
          .join('&')
      : '';
    const fullPath = `${path}${query ? (path.includes('?') ? '&' : '?') + query : ''}`;
    const payload = args.body === undefined ? undefined : typeof args.body === 'string' ? args.body : JSON.stringify(args.body);
    const headers: Record<string, string> = { ...creds.headers, accept: 'application/json', 'user-agent': 'tide' };
    if (payload !== undefined) {
      headers['content-type'] = args.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    let status: number;
    let resHeaders: IncomingHttpHeaders;
    let text: string;
    try {
      ({ status, headers: resHeaders, text } = await new Promise<{ status: number; headers: IncomingHttpHeaders; text: string }>((resolve, reject) => {
        const req = (this.secure ? httpsRequest : httpRequest)(`${this.server}${fullPath}`, { method, headers, agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(payload);
      }));
    } catch (err) {
      throw new Error(`${method} ${this.server}${path}: ${(err as Error).message}`);
    }
    let body: unknown = text;
    if (text && String(resHeaders['content-type'] ?? '').includes('json')) {
      try {
        body = JSON.parse(text);
      } catch {
        // keep the text
      }
    }
    return { status, body: body as T, headers: resHeaders };
  }
}

export function apiError(res: KubeResponse, method: string, path: string): KubeApiError {
  const b = res.body as { reason?: string; message?: string } | string;
  const reason = typeof b === 'object' && b?.reason ? b.reason : String(res.status);
  const message = typeof b === 'object' && b?.message ? b.message : typeof b === 'string' ? b.slice(0, 500) : '';
  return new KubeApiError(res.status, reason, message, method, path);
}
