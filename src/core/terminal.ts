// Kept so existing imports work; the escaping itself lives in ./text.ts (the one escaper).
export { escapeTerminal, truncateMiddle } from './text.js';
