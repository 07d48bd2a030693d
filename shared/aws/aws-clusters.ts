import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { clusterFromAccess, type Cluster } from '../kube/cluster.ts';
import { storedKubeconfigAccess } from '../kube/safe-kubeconfig.ts';
import type { KubeAccess } from '../kube/access.ts';
import type { BlobStore } from '../store/blob.ts';
import { checkCluster } from '../store/refs.ts';
import { mapLimit } from '../util/map-limit.ts';
import { eksToken, type AwsCredentials } from './eks-token.ts';
import { getSecretString } from './secrets-manager.ts';

/** How Tide on AWS reaches one registered cluster; kept at `clusters/<name>/registration.json`. */
export interface AwsClusterRegistration {
  labels?: Record<string, string>;
  /** The fleet repo path it bootstraps from, like `flux bootstrap --path`. */
  path?: string;
  /** An EKS cluster, reached with a bearer token from a presigned STS GetCallerIdentity. */
  eks?: {
    /** The EKS cluster's name, or its ARN (the region is then taken from the ARN). */
    cluster: string;
    /** A role to assume first (session `tide-<name>`); default the function's own role. */
    roleArn?: string;
    /** Default: the ARN's region, else the client's region (AWS_REGION). */
    region?: string;
    /** The apiserver URL and its CA (base64 PEM); both optional: else eks:DescribeCluster. */
    endpoint?: string;
    certificateAuthorityData?: string;
  };
  /** A Secrets Manager secret (name or ARN) whose SecretString is a kubeconfig (checked: no exec, no files). */
  kubeconfigSecret?: string;
  /** Context in that kubeconfig; default its current-context. */
  context?: string;
}

export interface AwsClustersOptions {
  /** Settings for every AWS SDK client (moto in tests); default the SDK's own chain. */
  readonly clientConfig?: { endpoint?: string; region?: string; credentials?: AwsCredentials };
  readonly now?: () => number;
}

/** Refresh assumed-role credentials this long before they expire. */
const CREDENTIALS_MARGIN_MS = 5 * 60_000;
/** Stop using a token this long before the credentials that signed it expire. */
const TOKEN_CREDENTIALS_MARGIN_MS = 60_000;
/** After a 401, a token younger than this was already refreshed by another request: reuse it. */
const REFRESH_DEDUPE_MS = 5_000;
/** How long a connection is used before the registration is checked (a HEAD) for a change. */
const RECHECK_MS = 60_000;

const EKS_ARN = /^arn:(aws[a-z-]*):eks:([a-z0-9-]+):(\d{12}):cluster\/([A-Za-z0-9][A-Za-z0-9_-]*)$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:/;

interface Connection {
  readonly cluster: Promise<Cluster>;
  readonly etag: string;
  checkedAt: number;
}

/**
 * The fleet of an install on AWS, in the state BlobStore. `connect` builds a Cluster once per
 * name and reuses it; an EKS cluster's client asks for a new token before the old one expires
 * (and again after a 401), assuming its role again 5 minutes before the role's credentials expire.
 */
export class AwsClusters {
  private readonly now: () => number;
  private readonly connected = new Map<string, Connection>();
  private readonly clients = new Map<string, STSClient | SecretsManagerClient>();

  constructor(
    private readonly blobs: BlobStore,
    private readonly aws: AwsClustersOptions = {},
  ) {
    this.now = aws.now ?? Date.now;
  }

  static key(name: string): string {
    return `clusters/${checkCluster(name)}/registration.json`;
  }

  async register(name: string, reg: AwsClusterRegistration): Promise<void> {
    const problem = registrationProblem(reg);
    if (problem) throw new Error(`cluster ${checkCluster(name)}: ${problem}`);
    await this.blobs.put(AwsClusters.key(name), new TextEncoder().encode(JSON.stringify(reg, null, 2) + '\n'), { contentType: 'application/json' });
    this.forget(name);
  }

  async deregister(name: string): Promise<void> {
    await this.blobs.delete(AwsClusters.key(name));
    this.forget(name);
  }

  async get(name: string): Promise<{ reg: AwsClusterRegistration; etag: string } | undefined> {
    const key = AwsClusters.key(name);
    const blob = await this.blobs.get(key);
    if (!blob) return undefined;
    let reg: unknown;
    try {
      reg = JSON.parse(new TextDecoder().decode(blob.body));
    } catch (err) {
      throw new Error(`cluster ${name}: ${this.where(key)} is not valid JSON (${(err as Error).message}): register the cluster again`);
    }
    if (!reg || typeof reg !== 'object' || Array.isArray(reg)) throw new Error(`cluster ${name}: ${this.where(key)} is not a JSON object: register the cluster again`);
    return { reg: reg as AwsClusterRegistration, etag: blob.etag };
  }

  async list(): Promise<Record<string, AwsClusterRegistration>> {
    const keys = (await this.blobs.list('clusters/')).filter((k) => /^clusters\/[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\/registration\.json$/.test(k));
    const names = keys.map((k) => k.split('/')[1] as string);
    const regs = await mapLimit(names, 16, (name) => this.get(name));
    const out: Record<string, AwsClusterRegistration> = {};
    names.forEach((name, i) => {
      const got = regs[i];
      if (got) out[name] = got.reg;
    });
    return out;
  }

  /** A connection to the cluster, made once and reused while its registration is unchanged. */
  async connect(name: string): Promise<Cluster> {
    checkCluster(name);
    const existing = this.connected.get(name);
    if (existing) {
      if (this.now() - existing.checkedAt < RECHECK_MS) return existing.cluster;
      const head = await this.blobs.head(AwsClusters.key(name));
      if (head?.etag === existing.etag) {
        existing.checkedAt = this.now();
        return existing.cluster;
      }
      this.forget(name);
    }
    const got = await this.get(name);
    if (!got) throw new Error(`cluster ${name} is not registered: register it with eks: {cluster, roleArn} or kubeconfigSecret (${this.where(AwsClusters.key(name))} does not exist)`);
    const problem = registrationProblem(got.reg);
    if (problem) throw new Error(`cluster ${name}: ${problem}`);
    const cluster = this.build(name, got.reg);
    const conn: Connection = { cluster, etag: got.etag, checkedAt: this.now() };
    this.connected.set(name, conn);
    cluster.catch(() => {
      if (this.connected.get(name) === conn) this.connected.delete(name);
    });
    return cluster;
  }

  close(): void {
    for (const name of [...this.connected.keys()]) this.forget(name);
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
  }

  private where(key: string): string {
    const l = this.blobs.location;
    return `${l}${l.endsWith('/') ? '' : '/'}${key}`;
  }

  private forget(name: string): void {
    const conn = this.connected.get(name);
    this.connected.delete(name);
    void conn?.cluster.then((c) => c.client.close()).catch(() => undefined);
  }

  private async build(name: string, reg: AwsClusterRegistration): Promise<Cluster> {
    if (reg.eks) return this.buildEks(name, reg.eks);
    return this.buildFromSecret(name, reg.kubeconfigSecret as string, reg.context);
  }

  private async buildFromSecret(name: string, id: string, context: string | undefined): Promise<Cluster> {
    const region = SECRET_ARN.exec(id)?.[1];
    let text: string | undefined;
    try {
      text = await getSecretString(this.secretsManager(region), id);
    } catch (err) {
      throw new Error(`cluster ${name}: ${(err as Error).message}`);
    }
    if (text === undefined) {
      throw new Error(`cluster ${name}: Secrets Manager secret ${id} (kubeconfigSecret) does not exist: create it with the cluster's kubeconfig as its SecretString, or fix kubeconfigSecret`);
    }
    let access: KubeAccess;
    try {
      access = storedKubeconfigAccess(text, `Secrets Manager secret ${id}`, context);
    } catch (err) {
      throw new Error(`cluster ${name}: ${(err as Error).message}`);
    }
    return clusterFromAccess(name, access);
  }

  private async buildEks(name: string, eks: NonNullable<AwsClusterRegistration['eks']>): Promise<Cluster> {
    const arn = EKS_ARN.exec(eks.cluster);
    const eksName = arn ? (arn[4] as string) : eks.cluster;
    const region = arn?.[2] ?? eks.region ?? this.aws.clientConfig?.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (!region) throw new Error(`cluster ${name}: no region for EKS cluster ${eks.cluster}: set eks.region, or give eks.cluster as an ARN`);
    if (arn && eks.region && eks.region !== arn[2]) {
      throw new Error(`cluster ${name}: eks.region ${eks.region} differs from the region in eks.cluster ${eks.cluster}: drop eks.region`);
    }
    const credentials = eks.roleArn ? this.assumedRole(name, eks.roleArn, region) : this.ownCredentials(region);

    let server = eks.endpoint;
    let caData = eks.certificateAuthorityData;
    if (!server || !caData) {
      const described = await this.describe(name, eksName, region, eks.roleArn, credentials);
      server ??= described.endpoint;
      caData ??= described.caData;
    }
    try {
      if (new URL(server).protocol !== 'https:') throw new Error('not https');
    } catch {
      throw new Error(`cluster ${name}: EKS endpoint ${JSON.stringify(server)} is not an https:// URL: fix eks.endpoint`);
    }


    // The token: cached, remade 1 min before it or its credentials expire, or after a 401.
    let current: { token: string; expiresAt: number; issuedAt: number } | undefined;
    let pending: Promise<string> | undefined;
    const stsEndpoint = this.aws.clientConfig?.endpoint;
    const make = async (): Promise<string> => {
      const creds = await credentials();
      const made = await eksToken({ clusterName: eksName, region, credentials: creds, ...(stsEndpoint ? { endpoint: stsEndpoint } : {}), now: this.now });
      const credsEnd = creds.expiration ? creds.expiration.getTime() - TOKEN_CREDENTIALS_MARGIN_MS : Infinity;
      current = { token: made.token, expiresAt: Math.min(made.expiresAt, credsEnd), issuedAt: this.now() };
      return made.token;
    };
    const bearerToken = async ({ refresh }: { refresh: boolean }): Promise<string> => {
      const now = this.now();
      if (current && now < current.expiresAt && !(refresh && now - current.issuedAt >= REFRESH_DEDUPE_MS)) return current.token;
      pending ??= make().finally(() => (pending = undefined));
      return pending;
    };
    await bearerToken({ refresh: false }); // fail here, naming the cluster, if the role cannot be assumed
    const tls = { ca: Buffer.from(caData, 'base64').toString('utf8') };
    return clusterFromAccess(name, {
      server: server.replace(/\/+$/, ''),
      credentials: async (refresh) => ({ headers: { authorization: `Bearer ${await bearerToken({ refresh })}` }, tls }),
    });
  }

  /** The function's own credentials (the SDK's default chain, or clientConfig.credentials). */
  private ownCredentials(region: string): () => Promise<AwsCredentials> {
    const sts = this.sts(region);
    return async () => (await sts.config.credentials()) as AwsCredentials;
  }

  /** Assumed-role credentials, cached until 5 minutes before they expire. */
  private assumedRole(name: string, roleArn: string, region: string): () => Promise<AwsCredentials> {
    let cached: AwsCredentials | undefined;
    let pending: Promise<AwsCredentials> | undefined;
    const sessionName = `tide-${name}`.slice(0, 64);
    const assume = async (): Promise<AwsCredentials> => {
      let out;
      try {
        out = await this.sts(region).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName }));
      } catch (err) {
        const e = err as { name?: string; message?: string };
        if (e.name === 'AccessDenied' || e.name === 'AccessDeniedException') {
          throw new Error(
            `cluster ${name}: sts:AssumeRole on ${roleArn} was denied: grant the function's role sts:AssumeRole on ${roleArn}, and let that role's trust policy allow the function's role (${e.message ?? e.name})`,
          );
        }
        if (e.name === 'RegionDisabledException') {
          throw new Error(`cluster ${name}: STS is not activated in ${region}: activate it in IAM account settings, or set eks.region`);
        }
        throw new Error(`cluster ${name}: sts:AssumeRole on ${roleArn} failed: ${e.name ?? 'error'}: ${e.message ?? String(err)}`);
      }
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`cluster ${name}: sts:AssumeRole on ${roleArn} returned no credentials`);
      cached = {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
        ...(c.Expiration ? { expiration: new Date(c.Expiration) } : {}),
      };
      return cached;
    };
    return async () => {
      if (cached && (!cached.expiration || this.now() < cached.expiration.getTime() - CREDENTIALS_MARGIN_MS)) return cached;
      pending ??= assume().finally(() => (pending = undefined));
      return pending;
    };
  }

  private async describe(
    name: string,
    eksName: string,
    region: string,
    roleArn: string | undefined,
    credentials: () => Promise<AwsCredentials>,
  ): Promise<{ endpoint: string; caData: string }> {
    // A client of its own: it signs with this cluster's credentials, and is needed once per connect.
    const client = new EKSClient({ ...this.config(region), credentials });
    let out;
    try {
      out = await client.send(new DescribeClusterCommand({ name: eksName }));
    } catch (err) {
      const e = err as { name?: string; message?: string };
      const as = roleArn ? `the role ${roleArn}` : "the function's role";
      if (e.message?.startsWith(`cluster ${name}:`)) throw err; // AssumeRole's own error
      if (e.name === 'ResourceNotFoundException') {
        throw new Error(`cluster ${name}: EKS cluster ${eksName} not found in ${region}: check eks.cluster and eks.region`);
      }
      if (e.name === 'AccessDeniedException' || e.name === 'AccessDenied' || e.name === 'UnauthorizedException') {
        throw new Error(
          `cluster ${name}: eks:DescribeCluster on ${eksName} in ${region} was denied: grant ${as} eks:DescribeCluster on the cluster, or set eks.endpoint and eks.certificateAuthorityData`,
        );
      }
      throw new Error(`cluster ${name}: eks:DescribeCluster on ${eksName} in ${region} failed: ${e.name ?? 'error'}: ${e.message ?? String(err)}`);
    } finally {
      client.destroy();
    }
    const endpoint = out.cluster?.endpoint;
    const caData = out.cluster?.certificateAuthority?.data;
    if (!endpoint || !caData) {
      throw new Error(`cluster ${name}: EKS cluster ${eksName} in ${region} has no endpoint or certificate authority yet (status ${out.cluster?.status ?? 'unknown'}): wait until it is ACTIVE`);
    }
    return { endpoint, caData };
  }

  private config(region: string): { region: string; endpoint?: string; credentials?: AwsCredentials } {
    const c = this.aws.clientConfig ?? {};
    return { ...(c.endpoint ? { endpoint: c.endpoint } : {}), ...(c.credentials ? { credentials: c.credentials } : {}), region };
  }

  private sts(region: string): STSClient {
    return this.client(`sts:${region}`, () => new STSClient(this.config(region))) as STSClient;
  }

  private secretsManager(region: string | undefined): SecretsManagerClient {
    const r = region ?? this.aws.clientConfig?.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? '';
    return this.client(`secretsmanager:${r}`, () => new SecretsManagerClient(r ? this.config(r) : {})) as SecretsManagerClient;
  }

  private client<T extends STSClient | SecretsManagerClient>(key: string, make: () => T): T {
    let c = this.clients.get(key);
    if (!c) this.clients.set(key, (c = make()));
    return c as T;
  }
}

/** What is wrong with a registration, or undefined. */
export function registrationProblem(reg: unknown): string | undefined {
  if (!reg || typeof reg !== 'object' || Array.isArray(reg)) return 'the registration is not an object';
  const r = reg as Record<string, unknown>;
  const known = new Set(['labels', 'path', 'eks', 'kubeconfigSecret', 'context']);
  const unknown = Object.keys(r).filter((k) => !known.has(k));
  if (unknown.length) return `unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')} (fields: ${[...known].join(', ')})`;
  if (r.labels !== undefined && (typeof r.labels !== 'object' || r.labels === null || Object.values(r.labels).some((v) => typeof v !== 'string'))) {
    return 'labels must be a map of strings';
  }
  if (r.path !== undefined && typeof r.path !== 'string') return 'path must be a string';
  if (r.eks !== undefined && r.kubeconfigSecret !== undefined) {
    return 'both eks and kubeconfigSecret are set: set exactly one (eks: {cluster, roleArn} for an EKS cluster, kubeconfigSecret: <Secrets Manager id> for any other)';
  }
  if (r.eks === undefined && r.kubeconfigSecret === undefined) {
    return 'no way to reach it: set eks: {cluster: <name or ARN>, roleArn: <role to assume>} for an EKS cluster, or kubeconfigSecret: <Secrets Manager secret holding a kubeconfig>';
  }
  if (r.eks !== undefined) {
    const e = r.eks as Record<string, unknown>;
    if (!e || typeof e !== 'object' || Array.isArray(e)) return 'eks must be an object {cluster, roleArn?, region?, endpoint?, certificateAuthorityData?}';
    if (typeof e.cluster !== 'string' || !e.cluster) return 'eks.cluster must be the EKS cluster name or ARN';
    if (e.cluster.startsWith('arn:') && !EKS_ARN.test(e.cluster)) return `eks.cluster ${e.cluster} is not an EKS cluster ARN (arn:aws:eks:<region>:<account>:cluster/<name>)`;
    for (const f of ['roleArn', 'region', 'endpoint', 'certificateAuthorityData']) {
      if (e[f] !== undefined && (typeof e[f] !== 'string' || !e[f])) return `eks.${f} must be a non-empty string`;
    }
    const eKnown = new Set(['cluster', 'roleArn', 'region', 'endpoint', 'certificateAuthorityData']);
    const eUnknown = Object.keys(e).filter((k) => !eKnown.has(k));
    if (eUnknown.length) return `unknown field eks.${eUnknown.join(', eks.')} (fields: ${[...eKnown].join(', ')})`;
    if (typeof e.roleArn === 'string' && !/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(e.roleArn)) return `eks.roleArn ${e.roleArn} is not an IAM role ARN`;
    if (r.context !== undefined) return 'context applies to kubeconfigSecret only; remove it';
  } else if (typeof r.kubeconfigSecret !== 'string' || !r.kubeconfigSecret) {
    return 'kubeconfigSecret must be the name or ARN of a Secrets Manager secret';
  }
  if (r.context !== undefined && typeof r.context !== 'string') return 'context must be a string';
  return undefined;
}
