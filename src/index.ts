/**
 * hostwarden: Linux host security monitoring as typed, composable, embeddable classes.
 *
 * The parts meet only through the {@link Alert} shape: sources raise alerts, the
 * Notifier delivers them.
 *
 * @packageDocumentation
 */

export { createAlert, resolveAlert, type Alert, type AlertInit } from './core/alert.js';
export { SEVERITIES, isAtLeast, isSeverity, type Severity } from './core/severity.js';
export {
  AbortedError,
  DeliveryError,
  HostwardenError,
  InvalidOptionError,
  IoError,
  ListenerError,
  ParseError,
  QuarantineError,
  StateError,
  type HostwardenErrorCode,
  type HostwardenErrorOptions,
} from './core/errors.js';
export { HostwardenEmitter, type BaseEvents, type EventIteratorOptions, type EventPayload, type HostwardenEvents } from './core/emitter.js';
export { Component, type ComponentOptions, type ComponentState } from './core/lifecycle.js';
export { MAX_DELAY_MS, systemClock, type Clock } from './core/clock.js';
export type { Health, HealthCheck, HealthState } from './core/health.js';
export type { Warning } from './core/warning.js';
export { safeText, type SafeTextOptions } from './core/text.js';
export { closeLogger, createLogger, silentLogger, type CreateLoggerOptions, type Logger } from './core/logger.js';
export type { Channel, DeliveryReceipt, Notification, SendContext } from './notifier/channel.js';
export * from './logwatcher/index.js';
export * from './resource/index.js';
export * from './scanner/index.js';
export * from './watcher/index.js';
export * from './notifier/index.js';
export * from './fleet/index.js';
export * from './response/index.js';
