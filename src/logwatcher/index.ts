/**
 * LogWatcher: following logs without losing a line (files through every rotation style,
 * globs, the state file, journald) and its rules (syslog parsing, rule types, the built-in
 * auth rules, the threshold engine and the fail2ban-regex equivalents `matchLines` / `matchFile`).
 *
 * @module
 */
export { authBanRules, authRules, sshProbeRules } from './auth-rules.js';
export { sshModeRules, type SshMode } from './ssh-mode-rules.js';
export { SUCCESS_AFTER_FAILURES, type SuccessAfterFailuresOptions } from './success-after-failures.js';
export { checkRule, type CheckRuleOptions, type RuleCheck, type RuleCheckTiming } from './check-rule.js';
export { RuleEngine, type HandleResult, type LineOrigin, type RuleEngineOptions } from './engine.js';
export { matchFile, matchLines, type MatchFileOptions, type MatchLinesOptions } from './match-file.js';
export { defineRule, type AttemptRole, type LogMatch, type LogRule, type RuleAlert, type RuleThreshold } from './rule.js';
export { parseSyslogLine, type ParseSyslogOptions, type SyslogFormat, type SyslogLine } from './syslog.js';
export { LogWatcher, type LogWatcherEvents, type LogWatcherStats } from './watcher.js';
export type { LogWatcherOptions } from './options.js';
export type { JournalOptions } from './journal.js';
export type { LogWatcherWarning, RotateEvent, RotateReason } from './tailer.js';
