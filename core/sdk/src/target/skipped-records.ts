import type { RosterEntity } from '../roster/roster-entity';
import type { RosterIssue, RosterIssueLocation } from '../roster/roster-issue';

/** How many sourcedIds a grouped warning names. */
const EXAMPLES = 5;

/**
 * The records a target leaves out of one batch for a reason it has no place for them (a role it
 * has no account for, a school not selected), grouped into one warning per reason and entity with
 * the count and a few examples — so that a district admin reads one line per reason, and the
 * warnings' counts add up to the batch's `skipped`. Report them with the batch they belong to, never
 * gathered over a run: a batch's result is committed with its cursor, and a run resumed after a
 * crash must not lose what was skipped before it.
 *
 * ```ts
 * const skipped = new SkippedRecords(kybergateIssue, { KYBERGATE_ROLE_NOT_IMPORTED: 'KyberGate has no account for their role' });
 * skipped.add('KYBERGATE_ROLE_NOT_IMPORTED', 'users', 'usr-7');
 * issues.push(...skipped.take()); // "1 users record(s) were skipped: KyberGate has no account for their role (e.g. usr-7)"
 * ```
 */
export class SkippedRecords<C extends string> {
  private readonly groups = new Map<string, { code: C; entity: RosterEntity; count: number; examples: string[] }>();

  constructor(
    private readonly issue: (code: C, message: string, where: RosterIssueLocation) => RosterIssue,
    private readonly reasons: Partial<Record<C, string>>,
  ) {}

  /** Notes one record left out for `code`'s reason. */
  add(code: C, entity: RosterEntity, sourcedId: string): void {
    const key = `${code}:${entity}`;
    const group = this.groups.get(key) ?? { code, entity, count: 0, examples: [] };
    group.count++;
    if (group.examples.length < EXAMPLES) group.examples.push(sourcedId);
    this.groups.set(key, group);
  }

  /** One warning per reason and entity noted since the last take, and forgets them. */
  take(): RosterIssue[] {
    const issues = [...this.groups.values()].map(({ code, entity, count, examples }) =>
      this.issue(
        code,
        `${count} ${entity} record(s) were skipped: ${this.reasons[code] ?? code} (e.g. ${examples.join(', ')}${count > examples.length ? ', …' : ''})`,
        { entity },
      ),
    );
    this.groups.clear();
    return issues;
  }
}
