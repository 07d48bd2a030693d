import { Agent, request, type RequestOptions } from 'node:https';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';

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
 * (CRD schemas lose x-kubernetes-*, default, enum). The KubeConfig supplies the server, TLS and
 * credentials; connections are kept alive, as a reconcile makes many calls.
 */
export class KubeClient {
  readonly server: string;
  private auth: Promise<RequestOptions> | undefined;
  private readonly agent: Agent | HttpAgent;

  constructor(private readonly kc: KubeConfig, options: KubeClientOptions = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error(`kubeconfig has no current cluster (context ${JSON.stringify(kc.getCurrentContext())})`);
    this.server = cluster.server.replace(/\/+$/, '');
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 16 };
    this.agent = this.server.startsWith('http:') ? new HttpAgent(agentOptions) : new Agent(agentOptions);
  }

  /** TLS material and Authorization header from the KubeConfig; refreshed after a 401. */
  private credentials(): Promise<RequestOptions> {
    if (!this.auth) {
      const opts: RequestOptions = {};
      this.auth = this.kc.applyToHTTPSOptions(opts).then(() => {
        // Keep what authenticates; the keep-alive agent is ours.
        const { ca, cert, key, headers, rejectUnauthorized, servername, auth } = opts;
        return { ca, cert, key, headers, rejectUnauthorized, servername, auth };
      });
      this.auth.catch(() => (this.auth = undefined));
    }
    return this.auth;
  }

  async request<T = unknown>(method: string, path: string, args: RequestArgs = {}): Promise<KubeResponse<T>> {
    let res = await this.send<T>(method, path, args);
    if (res.status === 401) {
      this.auth = undefined; // a token may have expired: refresh once
      res = await this.send<T>(method, path, args);
    }
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
    this.agent.destroy();
  }

  private async send<T>(method: string, path: string, args: RequestArgs): Promise<KubeResponse<T>> {
    const creds = await this.credentials();
    const query = args.query
      ? Object.entries(args.query)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
          .join('&')
      : '';
    const url = `${this.server}${path}${query ? (path.includes('?') ? '&' : '?') + query : ''}`;
    const payload = args.body === undefined ? undefined : typeof args.body === 'string' ? args.body : JSON.stringify(args.body);
    const headers: Record<string, string | number> = {
      ...(creds.headers as Record<string, string>),
      accept: 'application/json',
      'user-agent': 'tide',
    };
    if (payload !== undefined) {
      headers['content-type'] = args.contentType ?? 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    const send = url.startsWith('http:') ? httpRequest : request;
    return new Promise((resolve, reject) => {
      const req = send(url, { ...creds, headers, method, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          if (text && (res.headers['content-type'] ?? '').includes('json')) {
            try {
              body = JSON.parse(text);
            } catch {
              // keep the text
            }
          }
          resolve({ status: res.statusCode ?? 0, body: body as T, headers: res.headers });
        });
        res.on('error', reject);
      });
      req.on('error', (err) => reject(new Error(`${method} ${this.server}${path}: ${err.message}`)));
      req.end(payload);
    });
  }
}

export function apiError(res: KubeResponse, method: string, path: string): KubeApiError {
  const b = res.body as { reason?: string; message?: string } | string;
  const reason = typeof b === 'object' && b?.reason ? b.reason : String(res.status);
  const message = typeof b === 'object' && b?.message ? b.message : typeof b === 'string' ? b.slice(0, 500) : '';
  return new KubeApiError(res.status, reason, message, method, path);
}
