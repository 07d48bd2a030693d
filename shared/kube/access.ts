/**
 * How to reach one apiserver: its URL, the TLS material, and the headers that prove who Tide is.
 * Built from a user's kubeconfig by @kubernetes/client-node in local mode (exec plugins, OIDC and
 * the rest), from a checked stored kubeconfig or an EKS token on AWS, where nothing of
 * client-node's auth may run: keeping it out of the functions' bundles.
 */
export interface KubeAccess {
  readonly server: string;
  /**
   * Headers (Authorization) and TLS material. `refresh` is true after the apiserver answered 401:
   * a token may have expired, ask its source again.
   */
  credentials(refresh: boolean): Promise<KubeCredentials>;
}

export interface KubeCredentials {
  readonly headers: Readonly<Record<string, string>>;
  readonly tls: KubeTls;
}

export interface KubeTls {
  /** PEM. */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly servername?: string;
  /** false only for a kubeconfig with insecure-skip-tls-verify. */
  readonly rejectUnauthorized?: boolean;
}

/** Access with fixed credentials: inline token or client certificate. */
export function staticAccess(server: string, tls: KubeTls, headers: Record<string, string> = {}): KubeAccess {
  const creds = { headers, tls };
  return { server: server.replace(/\/+$/, ''), credentials: async () => creds };
}
