// Kept so that imports of the v1 path keep working while their owners move to
// src/core/format.ts (the one parser and formatter of durations and bytes).
export { formatBytes, formatDuration, parseDuration } from '../core/format.js';
