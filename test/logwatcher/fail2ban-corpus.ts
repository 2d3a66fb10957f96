// Reads fail2ban's annotated sshd sample logs from the installed Debian package, at test
// time: the files are GPL, so no line of them is ever copied into this repository.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where Debian's `fail2ban` package installs its test corpus. */
export const FAIL2BAN_LOGS = '/usr/lib/python3/dist-packages/fail2ban/tests/files/logs';

/** fail2ban's sshd filter modes. `normal` is the default (no `mode` option). */
export type Fail2banMode = 'normal' | 'ddos' | 'extra' | 'aggressive';

/** One annotated sample line. */
export interface CorpusLine {
  /** `sshd:123` (file name and 1-based line number), for messages and exclusion lists. */
  readonly where: string;
  readonly line: string;
  /** Whether fail2ban counts the line as a failure. */
  readonly match: boolean;
  /** The address fail2ban reports, when it names one. */
  readonly host?: string;
}

interface Annotation {
  match?: boolean;
  host?: string;
  ip4?: string;
  ip6?: string;
  constraint?: string;
}

/**
 * Evaluates the few Python conditions the corpus uses (`name == 'sshd'`,
 * `opts.get('mode') != 'aggressive'`). An unknown form throws, so a new corpus cannot be
 * misread silently.
 */
function holds(condition: string, mode: Fail2banMode): boolean {
  return condition.split(/\s+and\s+/).every((part) => {
    const p = part.trim();
    if (/^name\s*==\s*'sshd'$/.test(p)) return true;
    const m = /^opts\.get\('mode'\)\s*(==|!=)\s*'(\w+)'$/.exec(p);
    if (m === null) throw new Error(`unknown fail2ban test condition: ${condition}`);
    const actual = mode === 'normal' ? 'None' : mode;
    return m[1] === '==' ? actual === m[2] : actual !== m[2];
  });
}

/** The modes a `# filterOptions:` value selects (an object or a list of them). */
function modesOf(value: unknown): Set<Fail2banMode> {
  const list = Array.isArray(value) ? value : [value];
  const modes = new Set<Fail2banMode>();
  for (const opts of list as Record<string, unknown>[]) {
    const condition = opts['test.condition'];
    if (typeof condition === 'string' && !holds(condition, 'normal') && !/name/.test(condition)) continue;
    const mode = (opts.mode ?? 'normal') as Fail2banMode;
    modes.add(mode);
    // aggressive = ddos + extra in fail2ban's filter; the corpus lists it explicitly.
  }
  return modes;
}

/**
 * The annotated lines of one corpus file that fail2ban tests in `mode`, in file order
 * (order matters: fail2ban keeps per-connection state across lines).
 */
export function readCorpus(file: 'sshd' | 'sshd-journal', mode: Fail2banMode): CorpusLine[] {
  const text = readFileSync(join(FAIL2BAN_LOGS, file), 'utf8');
  const out: CorpusLine[] = [];
  let modes = new Set<Fail2banMode>(['normal']);
  let pending: Annotation | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith('#')) {
      const opts = /^# filterOptions:\s*(.+)$/.exec(line);
      if (opts !== null) modes = modesOf(JSON.parse(opts[1] as string));
      const ann = /^# failJSON:\s*(.+)$/.exec(line);
      if (ann !== null) pending = JSON.parse(ann[1] as string) as Annotation;
      return;
    }
    if (line.trim() === '' || pending === undefined) return;
    const annotation = pending;
    pending = undefined;
    if (!modes.has(mode)) return;
    if (annotation.constraint !== undefined && !holds(annotation.constraint, mode)) return;
    out.push({
      where: `${file}:${i + 1}`,
      line,
      match: annotation.match === true,
      ...(typeof (annotation.host ?? annotation.ip4 ?? annotation.ip6) === 'string' ? { host: (annotation.host ?? annotation.ip4 ?? annotation.ip6) as string } : {}),
    });
  });
  return out;
}

/** Whether Debian's fail2ban package (and so its corpus) is installed. */
export const haveFail2banCorpus = (): boolean => existsSync(join(FAIL2BAN_LOGS, 'sshd'));
