import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { decodePayload, EVENT_HEADERS, lowerCaseHeaders, PayloadError, pushFromPayload, type PushInfo } from './push.ts';

export type { PushInfo } from './push.ts';

/**
 * Webhook checks for Flux's Receiver types (notification.toolkit.fluxcd.io/v1), as
 * notification-controller does them: the signature or token is checked against the raw body
 * before a byte of it is parsed, and in constant time, so that an unauthenticated caller learns
 * nothing but "no". Pure: the caller finds the Receiver, reads its token and acts on the verdict.
 */

export interface WebhookRequest {
  method: string;
  /** Any case; names are compared lower-cased. */
  headers: Record<string, string | undefined>;
  /** The raw body, exactly as signed. */
  body: Buffer;
}

/** The parts of a Receiver's spec a webhook check reads (and what the caller needs besides). */
export interface ReceiverSpec {
  type: string;
  events?: string[];
  secretRef?: { name: string };
  resources?: Array<{ apiVersion?: string; kind: string; name: string; namespace?: string; matchLabels?: Record<string, string> }>;
  /** Read by the caller: a suspended Receiver answers 503, once the webhook's signature is good. */
  suspend?: boolean;
}

export type WebhookVerdict =
  | { status: 401 | 400 | 405 | 413; outcome: 'rejected'; message: string }
  | { status: 200; outcome: 'ping' | 'ignored'; message: string }
  | { status: 202; outcome: 'accepted'; message: string; push?: PushInfo };

/** Receiver types whose webhooks Tide checks. */
export const WEBHOOK_TYPES = ['github', 'gitlab', 'bitbucket', 'generic', 'generic-hmac'] as const;
export type WebhookType = (typeof WEBHOOK_TYPES)[number];

/** The largest body read by default; a push event of a huge commit range is well under this. */
export const DEFAULT_MAX_WEBHOOK_BYTES = 4 * 1024 * 1024;

/** The event each Git host sends when a webhook is set up or tested; it starts nothing. */
const PING_EVENTS: Readonly<Record<string, string>> = { github: 'ping', bitbucket: 'diagnostics:ping' };

/**
 * The verdict on one webhook, checked in the order that spends least on a stranger: method (405),
 * size (413), type (400), token and signature (401), and only then the JSON body (400), the ping
 * (200), `spec.events` (200 ignored) and the push it describes (202). Messages name the header
 * expected, never the token or a signature sent. Suspension is the caller's to check after.
 */
export function verifyWebhook(spec: ReceiverSpec, token: string, req: WebhookRequest, options: { maxBodyBytes?: number } = {}): WebhookVerdict {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_WEBHOOK_BYTES;
  if (req.method.toUpperCase() !== 'POST') return rejected(405, 'webhooks must be sent with POST');
  // Before any hashing: a body over the limit costs no more than its length check.
  if (req.body.length > maxBodyBytes) return rejected(413, `body of ${req.body.length} bytes is over the limit of ${maxBodyBytes}`);
  const type = spec.type;
  if (!isWebhookType(type)) return rejected(400, `receiver type ${JSON.stringify(type)} is not supported: use one of ${WEBHOOK_TYPES.join(', ')}`);
  if (!token) return rejected(401, 'receiver secret has no token');

  const headers = lowerCaseHeaders(req.headers);
  const denied = authenticate(type, headers, req.body, token);
  if (denied) return rejected(401, denied);
  // The path (a digest of the token) was the only secret of a generic receiver; its body is the sender's own business.
  if (type === 'generic' || type === 'generic-hmac') return { status: 202, outcome: 'accepted', message: `${type} webhook accepted` };

  let payload: Record<string, unknown>;
  try {
    payload = decodePayload(headers, req.body);
  } catch (err) {
    if (err instanceof PayloadError) return rejected(400, `${type} webhook: ${err.message}`);
    throw err;
  }
  const event = headers[EVENT_HEADERS[type] ?? ''];
  // The event header is not signed: shown for the log, cut short and never with the token in it.
  const shown = event === undefined ? '(none)' : JSON.stringify(event.replaceAll(token, '<token>').slice(0, 100));
  if (event !== undefined && event === PING_EVENTS[type]) return { status: 200, outcome: 'ping', message: `${type} ping received` };
  const events = spec.events ?? [];
  // As Flux: case-insensitive, and no list means every event.
  if (events.length > 0 && !events.some((e) => e.toLowerCase() === event?.toLowerCase())) {
    return { status: 200, outcome: 'ignored', message: `${type} event ${shown} is not in spec.events (${events.join(', ')})` };
  }
  const push = pushFromPayload(type, event, payload);
  return { status: 202, outcome: 'accepted', message: `${type} event ${shown} accepted`, ...(push ? { push } : {}) };
}

export function isWebhookType(type: string): type is WebhookType {
  return (WEBHOOK_TYPES as readonly string[]).includes(type);
}

/** Why the request is not from the holder of the token, naming the header expected; undefined when it is. */
function authenticate(type: WebhookType, headers: Record<string, string | undefined>, body: Buffer, token: string): string | undefined {
  switch (type) {
    case 'generic':
      return undefined;
    case 'generic-hmac':
      return checkSignature('X-Signature', headers, ['sha1', 'sha256', 'sha512'], body, token);
    case 'github':
      // GitHub sends both; the SHA-1 one alone only from old GitHub Enterprise servers and Gitea forks.
      if (headers['x-hub-signature-256']) return checkSignature('X-Hub-Signature-256', headers, ['sha256'], body, token);
      if (headers['x-hub-signature']) return checkSignature('X-Hub-Signature', headers, ['sha1'], body, token);
      return 'missing X-Hub-Signature-256 header: set the webhook secret to the receiver token';
    case 'bitbucket':
      return checkSignature('X-Hub-Signature', headers, ['sha256'], body, token);
    case 'gitlab': {
      const given = headers['x-gitlab-token'];
      if (!given) return 'missing X-Gitlab-Token header: set the webhook secret token to the receiver token';
      return safeEqual(Buffer.from(given, 'utf8'), Buffer.from(token, 'utf8')) ? undefined : 'X-Gitlab-Token does not match the receiver token';
    }
  }
}

type Algorithm = 'sha1' | 'sha256' | 'sha512';

/** `<algorithm>=<hex HMAC of the body>` in the named header, the algorithm one of those allowed. */
function checkSignature(name: string, headers: Record<string, string | undefined>, allowed: readonly Algorithm[], body: Buffer, token: string): string | undefined {
  const value = headers[name.toLowerCase()];
  if (!value) return `missing ${name} header: set the webhook secret to the receiver token`;
  const wrong = `${name} does not match the body signed with the receiver token (expected ${allowed.map((a) => `${a}=<hex>`).join(' or ')})`;
  const eq = value.indexOf('=');
  const algorithm = value.slice(0, eq).trim();
  if (eq < 0 || !(allowed as readonly string[]).includes(algorithm)) return wrong;
  const hex = value.slice(eq + 1).trim();
  const expected = createHmac(algorithm, token).update(body).digest();
  // Length and alphabet are public (fixed by the algorithm); only the value is compared in constant time.
  if (hex.length !== expected.length * 2 || !/^[0-9a-fA-F]+$/.test(hex)) return wrong;
  return safeEqual(Buffer.from(hex, 'hex'), expected) ? undefined : wrong;
}

/**
 * Equality in time independent of where the inputs differ or how long they are: both sides are
 * hashed to a fixed length first, so timingSafeEqual neither throws on a length mismatch nor
 * reveals the secret's length.
 */
function safeEqual(a: Buffer, b: Buffer): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

function rejected(status: 401 | 400 | 405 | 413, message: string): WebhookVerdict {
  return { status, outcome: 'rejected', message };
}
