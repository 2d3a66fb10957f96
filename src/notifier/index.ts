export type { Channel, DeliveryReceipt, Notification, RateLimit, SendContext } from './channel.js';
export { Notifier, type AlertSource, type NotifierStats } from './notifier.js';
export type { NotifierOptions, RetryOptions } from './options.js';
export type { OutboxOptions } from './outbox.js';
export type { FailedEvent, NotifierEvents, RetryEvent, SentEvent, SuppressedEvent, SuppressReason } from './events.js';
export { SlackChannel, type SlackChannelOptions } from './channels/slack.js';
export { EmailChannel, type EmailAuth, type EmailChannelOptions } from './channels/email.js';
export {
  WebhookChannel,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
  signWebhook,
  verifyWebhookSignature,
  type VerifyWebhookOptions,
  type WebhookAlert,
  type WebhookChannelOptions,
  type WebhookPayload,
} from './channels/webhook.js';
export { LogChannel, type LogChannelOptions } from './channels/log.js';
