/**
 * LogWatcher's rules half: syslog parsing, rule types, the built-in auth rules, the
 * threshold engine and the fail2ban-regex equivalents `matchLines` / `matchFile`.
 *
 * @module
 */
export { authRules, sshProbeRules } from './auth-rules.js';
export { RuleEngine, type HandleResult, type LineOrigin, type RuleEngineOptions } from './engine.js';
export { matchFile, matchLines, type MatchFileOptions, type MatchLinesOptions } from './match-file.js';
export { defineRule, type LogMatch, type LogRule, type RuleAlert, type RuleThreshold } from './rule.js';
export { parseSyslogLine, type ParseSyslogOptions, type SyslogFormat, type SyslogLine } from './syslog.js';
