// TEMPORARY stand-in for the logrules branch's authRules (replaced at merge).
import type { LogRule } from './rule.js';

/** Temporary stand-in. */
export const authRules: readonly LogRule[] = [
  {
    id: 'sshd.failed-password',
    description: 'Failed password',
    severity: 'warning',
    tags: ['auth-failure'],
    prefilter: 'Failed password',
    pattern: /Failed password for (?:invalid user )?(?<user>\S+) from (?<host>\S+)/,
  },
];
