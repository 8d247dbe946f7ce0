/**
 * Each product's summary of a run in the product's own words, from the run's per-target counts
 * (created, updated, unchanged, skipped, deleted, errors per entity) as each target plugin reports
 * them. School Manager counts a user "created" when newly matched, "unchanged" when still matched,
 * "skipped" when unmatched (its session's `matchUsers`); its counts do not split students from
 * teachers, so the console says "matched users" rather than guess the split.
 */

type EntityCounts = Partial<Record<'created' | 'updated' | 'unchanged' | 'skipped' | 'deleted' | 'errors', number>>;

/** One line of a product's summary. */
export interface SummaryLine {
  label: string;
  value: number;
}

/** A product's summary of one target of a run. */
export interface ProductSummary {
  target: string;
  product: string;
  status?: string;
  lines: SummaryLine[];
}

const n = (c: EntityCounts | undefined, ...keys: (keyof EntityCounts)[]) => keys.reduce((a, k) => a + (c?.[k] ?? 0), 0);
const all = (entities: Record<string, EntityCounts>, ...keys: (keyof EntityCounts)[]) => Object.values(entities).reduce((a, c) => a + n(c, ...keys), 0);

/** The product summary of a target's counts; a target the console does not know gets the engine's words. */
export function productSummary(target: string, counts: { status?: string; entities?: Record<string, EntityCounts> } | undefined): ProductSummary {
  const e = counts?.entities ?? {};
  const status = counts?.status;
  switch (target) {
    case 'school-manager':
      return {
        target,
        product: 'School Manager',
        status,
        lines: [
          { label: 'Matched users (students and teachers)', value: n(e.users, 'created', 'updated', 'unchanged') },
          { label: 'Unmatched users', value: n(e.users, 'skipped') },
          { label: 'Imported classes', value: n(e.classes, 'created', 'updated', 'unchanged') },
          { label: 'Errors', value: all(e, 'errors') },
        ],
      };
    case 'kybergate':
      return {
        target,
        product: 'KyberGate',
        status,
        lines: [
          { label: 'Users created', value: n(e.users, 'created') },
          { label: 'Users updated', value: n(e.users, 'updated') },
          { label: 'Users skipped', value: n(e.users, 'skipped') },
          { label: 'Errors', value: all(e, 'errors') },
        ],
      };
    case 'kamkalima':
      return {
        target,
        product: 'Kamkalima',
        status,
        lines: [
          { label: 'Schools imported', value: n(e.orgs, 'created', 'updated') },
          { label: 'Classes imported', value: n(e.classes, 'created', 'updated') },
          { label: 'Users imported', value: n(e.users, 'created', 'updated') },
          { label: 'Records not imported', value: all(e, 'skipped') },
          { label: 'Errors', value: all(e, 'errors') },
        ],
      };
    case 'gradient':
      return {
        target,
        product: 'Gradient',
        status,
        lines: [
          { label: 'Staff and students synced', value: n(e.users, 'created', 'updated') },
          { label: 'Classes synced', value: n(e.classes, 'created', 'updated') },
          { label: 'Terms synced', value: n(e.academicSessions, 'created', 'updated') },
          { label: 'Records skipped', value: all(e, 'skipped') },
          { label: 'Errors', value: all(e, 'errors') },
        ],
      };
    default:
      return {
        target,
        product: target,
        status,
        lines: (['created', 'updated', 'unchanged', 'deleted', 'skipped', 'errors'] as const).map((k) => ({ label: k, value: all(e, k) })),
      };
  }
}
