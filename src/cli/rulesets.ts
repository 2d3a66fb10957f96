import { authRules, sshProbeRules } from '../logwatcher/auth-rules.js';
import { sshDdosRules, sshExtraRules } from '../logwatcher/ssh-mode-rules.js';
import type { LogRule } from '../logwatcher/rule.js';

/** The built-in rule sets the CLI and config name. */
export const RULE_SETS = {
  auth: authRules,
  'ssh-probe': sshProbeRules,
  // With `auth`, fail2ban's sshd modes: `auth,ssh-ddos`, `auth,ssh-extra`, `auth,ssh-ddos,ssh-extra` (aggressive).
  'ssh-ddos': sshDdosRules,
  'ssh-extra': sshExtraRules,
} as const satisfies Record<string, readonly LogRule[]>;

/** A name of {@link RULE_SETS}. */
export type RuleSetName = keyof typeof RULE_SETS;

/** Whether `name` is a built-in rule set. */
export function isRuleSetName(name: string): name is RuleSetName {
  return Object.hasOwn(RULE_SETS, name);
}

/** The rules of the named sets, in order, each rule once. */
export function rulesOf(names: readonly RuleSetName[]): LogRule[] {
  const out = new Set<LogRule>();
  for (const name of names) for (const rule of RULE_SETS[name]) out.add(rule);
  return [...out];
}

/**
 * Copies rules with fail2ban-style overrides of every threshold: `maxRetry` replaces
 * `count`, `findTime` replaces `within` (and the quiet time before resolving, which
 * defaults to it). Rules without a threshold are kept as they are.
 */
export function tuneThresholds(rules: readonly LogRule[], tuning: { maxRetry?: number | undefined; findTime?: number | undefined }): LogRule[] {
  if (tuning.maxRetry === undefined && tuning.findTime === undefined) return [...rules];
  return rules.map((rule) => {
    const alert = rule.alert;
    if (alert === undefined || typeof alert === 'string') return rule;
    return {
      ...rule,
      alert: {
        ...alert,
        ...(tuning.maxRetry === undefined ? {} : { count: tuning.maxRetry }),
        ...(tuning.findTime === undefined ? {} : { within: tuning.findTime, resolveAfter: tuning.findTime }),
      },
    };
  });
}
