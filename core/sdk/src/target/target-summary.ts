import type { TargetSummaryLine } from '../plugin/manifest';
import type { TargetCounts } from './roster-target';

/** One line of a product's summary of a run, with its value. */
export interface TargetSummaryValue {
  label: string;
  value: number;
}

/**
 * A target's summary of a run in the product's own words: each of its manifest's summary lines with
 * its value, from the run's counts for the target (a sum of kinds of count, of one entity or of all)
 * or from a figure the target reported. A figure the target has not reported (it failed before its
 * `finish`, say) leaves its line out rather than show a 0 that was never measured.
 */
export function summarizeTarget(
  lines: readonly TargetSummaryLine[],
  counts: { entities?: Partial<Record<string, Partial<TargetCounts>>>; figures?: Record<string, number> } | undefined,
): TargetSummaryValue[] {
  const entities = counts?.entities ?? {};
  return lines.flatMap((line): TargetSummaryValue[] => {
    if (line.figure !== undefined) {
      const value = counts?.figures?.[line.figure];
      return value === undefined ? [] : [{ label: line.label, value }];
    }
    const of = line.entity === undefined ? Object.values(entities) : [entities[line.entity]];
    const value = of.reduce((sum, c) => sum + (line.counts ?? []).reduce((a, k) => a + (c?.[k] ?? 0), 0), 0);
    return [{ label: line.label, value }];
  });
}
