import type { RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, type Dispatcher } from 'undici';

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
  /**
   * A bearer token for every request, instead of the KubeConfig's user credentials (an EKS token
   * built from a presigned STS URL). The provider caches; `refresh` is true when the apiserver
   * just answered 401 to the token it gave, so it must make a new one.
   */
  readonly bearerToken?: (options: { refresh: boolean }) => Promise<string>;
}

/**
 * A raw JSON client for one cluster. Bodies go out as plain JSON and come back as plain JSON:
 * never through @kubernetes/client-node's typed models, which drop fields they do not know
 * (CRD schemas lose x-kubernetes-*, default, enum). The KubeConfig supplies the server, TLS and
 * credentials; connections are kept alive, as a reconcile makes many calls.
 */
export class KubeClient {
  readonly server: string;
  private auth: Promise<{ headers: Record<string, string>; dispatcher: Dispatcher }> | undefined;
  private readonly maxSockets: number;
  private readonly bearerToken: KubeClientOptions['bearerToken'];

  constructor(private readonly kc: KubeConfig, options: KubeClientOptions = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error(`kubeconfig has no current cluster (context ${JSON.stringify(kc.getCurrentContext())})`);
    this.server = cluster.server.replace(/\/+$/, '');
    this.maxSockets = options.maxSockets ?? 16;
    this.bearerToken = options.bearerToken;
  }

  /**
   * TLS material and Authorization header from the KubeConfig, and a keep-alive connection pool
   * (undici) built from them; refreshed after a 401.
   */
  private credentials(): Promise<{ headers: Record<string, string>; dispatcher: Dispatcher }> {
    if (!this.auth) {
      const opts: RequestOptions = {};
      const previous = this.auth;
      this.auth = this.kc.applyToHTTPSOptions(opts).then(() => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = String(v);
        if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
        const dispatcher = new Agent({
          connections: this.maxSockets,
          keepAliveTimeout: 30_000,
          connect: {
            ca: opts.ca as string | undefined,
            cert: opts.cert as string | undefined,
            key: opts.key as string | undefined,
            servername: opts.servername,
            ...(opts.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
          },
        });
        return { headers, dispatcher };
      });
      void previous;
      this.auth.catch(() => (this.auth = undefined));
    }
    return this.auth;
  }

  async request<T = unknown>(method: string, path: string, args: RequestArgs = {}): Promise<KubeResponse<T>> {
    let res = await this.send<T>(method, path, args);
    if (res.status === 401) {
      this.auth = undefined; // a token may have expired: refresh once
      res = await this.send<T>(method, path, args, true);
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
    void this.auth?.then((a) => a.dispatcher.close()).catch(() => undefined);
  }

  private async send<T>(method: string, path: string, args: RequestArgs, refresh = false): Promise<KubeResponse<T>> {
    const { headers: authHeaders, dispatcher } = await this.credentials();
    const bearer = this.bearerToken && `Bearer ${await this.bearerToken({ refresh })}`;
    const query = args.query
      ? Object.entries(args.query)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
          .join('&')
      : '';
    const fullPath = `${path}${query ? (path.includes('?') ? '&' : '?') + query : ''}`;
    const payload = args.body === undefined ? undefined : typeof args.body === 'string' ? args.body : JSON.stringify(args.body);
    const headers: Record<string, string> = { ...authHeaders, ...(bearer ? { authorization: bearer } : {}), accept: 'application/json', 'user-agent': 'tide' };
    if (payload !== undefined) headers['content-type'] = args.contentType ?? 'application/json';
    let res: Dispatcher.ResponseData;
    try {
      res = await dispatcher.request({ origin: this.server, path: fullPath, method: method as Dispatcher.HttpMethod, headers, body: payload });
    } catch (err) {
      throw new Error(`${method} ${this.server}${path}: ${(err as Error).message}`);
    }
    const text = await res.body.text();
    let body: unknown = text;
    const type = res.headers['content-type'];
    if (text && String(type ?? '').includes('json')) {
      try {
        body = JSON.parse(text);
      } catch {
        // keep the text
      }
    }
    return { status: res.statusCode, body: body as T, headers: res.headers };
  }
}

export function apiError(res: KubeResponse, method: string, path: string): KubeApiError {
  const b = res.body as { reason?: string; message?: string } | string;
  const reason = typeof b === 'object' && b?.reason ? b.reason : String(res.status);
  const message = typeof b === 'object' && b?.message ? b.message : typeof b === 'string' ? b.slice(0, 500) : '';
  return new KubeApiError(res.status, reason, message, method, path);
}
