// TEMPORARY stand-in for the logrules branch's RuleEngine (replaced at merge).
import type { Alert } from '../core/alert.js';
import type { LogMatch, LogRule } from './rule.js';

/** Temporary stand-in. */
export interface RuleEngineOptions {
  /** Rules. */
  readonly rules: readonly LogRule[];
  /** Host name. */
  readonly hostname?: string;
  /** Clock. */
  readonly now?: () => Date;
  /** Evidence cap. */
  readonly maxEvidence?: number;
}

/** Temporary stand-in. */
export class RuleEngine {
  readonly #rules: readonly LogRule[];
  readonly #now: () => Date;
  constructor(options: RuleEngineOptions) {
    this.#rules = options.rules;
    this.#now = options.now ?? (() => new Date());
  }
  /** Matches one line. */
  handle(line: string, origin: { file: string; lineNumber: number }): { matches: LogMatch[]; alerts: Alert[] } {
    const matches: LogMatch[] = [];
    for (const rule of this.#rules) {
      const pre = rule.prefilter;
      if (typeof pre === 'string' && !line.includes(pre)) continue;
      const m = rule.pattern.exec(line);
      if (!m) continue;
      const fields: Record<string, string> = {};
      for (const [k, v] of Object.entries(m.groups ?? {})) if (v !== undefined) fields[k] = v;
      matches.push({ rule, line, file: origin.file, lineNumber: origin.lineNumber, time: this.#now(), fields });
    }
    return { matches, alerts: [] };
  }
  /** Resolves quiet alerts. */
  sweep(_now?: Date): Alert[] {
    return [];
  }
}
