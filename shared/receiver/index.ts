/** Webhook checks for Flux Receivers: pure functions the receiver function and `tide local` share. */
export {
  DEFAULT_MAX_WEBHOOK_BYTES,
  isWebhookType,
  verifyWebhook,
  WEBHOOK_TYPES,
  type ReceiverSpec,
  type WebhookRequest,
  type WebhookType,
  type WebhookVerdict,
} from './verify.ts';
export { decodePayload, EVENT_HEADERS, lowerCaseHeaders, parsePush, PayloadError, pushFromPayload, refParts, type PushInfo } from './push.ts';
export { WEBHOOK_PATH_PREFIX, webhookPath } from './webhook-path.ts';
