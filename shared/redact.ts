/**
 * Keeps secrets out of events and log lines. Two nets, both applied to every string:
 * - values Tide knows to be secret (registered when a Secret is read: passwords, tokens, keys);
 * - shapes that are secret wherever they appear: credentials in URLs, Authorization headers,
 *   `password=`-style pairs, PEM private keys, AWS access keys and signatures, GitHub and Slack
 *   tokens and webhook paths.
 * Object fields whose names say they hold a secret are replaced whole.
 */

export const REDACTED = '[REDACTED]';

const known = new Set<string>();

/** Registers a value read from a secret, so that it is never printed or sent anywhere. */
export function registerSecret(value: string | undefined | null): void {
  // Very short values would blank out ordinary words; they are too weak to be secrets worth it.
  if (value && value.length >= 6) known.add(value);
}

/** Forgets registered values (tests; a new invocation in the same process keeps them, harmlessly). */
export function forgetSecrets(): void {
  known.clear();
}

const SECRET_FIELD = /^(password|passwd|pass|secret|secretkey|secret_key|secretaccesskey|token|accesstoken|access_token|refreshtoken|bearertoken|apikey|api_key|authorization|auth|credentials?|privatekey|private_key|identity|sshkey|ssh_key|sessiontoken|session_token|clientsecret|client_secret|webhook_?secret|hmac|signature)$/i;

const PATTERNS: Array<[RegExp, string]> = [
  // -----BEGIN ... PRIVATE KEY----- ... -----END ... PRIVATE KEY-----
  [/-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?(-----END \1PRIVATE KEY-----|$)/g, REDACTED],
  // scheme://user:password@host -> scheme://user:[REDACTED]@host (and a lone token as user)
  [/\b([a-z][a-z0-9+.-]*:\/\/)([^\s/:@]+):([^\s/@]+)@/gi, `$1$2:${REDACTED}@`],
  [/\b(https?:\/\/)([^\s/:@]{20,})@/gi, `$1${REDACTED}@`],
  // Authorization: Bearer xyz / Basic xyz
  [/\b(Bearer|Basic|token)\s+[A-Za-z0-9\-._~+/]{8,}=*/g, `$1 ${REDACTED}`],
  // password=xyz, "token": "xyz", secret: xyz
  [/\b(password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret)(["']?\s*[:=]\s*["']?)([^\s"',;&]+)/gi, `$1$2${REDACTED}`],
  // AWS access key ids and presigned-URL signatures and session tokens
  [/\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, REDACTED],
  [/(X-Amz-(?:Signature|Security-Token|Credential)=)[^&\s]+/gi, `$1${REDACTED}`],
  // GitHub tokens, Slack tokens and webhook paths
  [/\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})\b/g, REDACTED],
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}/g, REDACTED],
  [/(hooks\.slack\.com\/services\/)[A-Za-z0-9/]+/g, `$1${REDACTED}`],
  // Kubernetes service-account and other JWTs
  [/\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/g, REDACTED],
];

/** A string with every secret it holds replaced. */
export function redactString(s: string): string {
  let out = s;
  for (const value of known) if (out.includes(value)) out = out.split(value).join(REDACTED);
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  return out;
}

/** A deep copy of a JSON-like value with secrets replaced; the input is not changed. */
export function redact<T>(value: T): T {
  return walk(value, undefined) as T;
}

function walk(value: unknown, field: string | undefined): unknown {
  if (typeof value === 'string') {
    return field !== undefined && SECRET_FIELD.test(field) && value !== '' ? REDACTED : redactString(value);
  }
  if (Array.isArray(value)) return value.map((v) => walk(v, undefined));
  if (value instanceof Error) {
    return { name: value.name, message: redactString(value.message), stack: value.stack && redactString(value.stack) };
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = walk(v, k);
    return out;
  }
  return value;
}
