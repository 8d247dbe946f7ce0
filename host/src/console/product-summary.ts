import type { TargetSummaryValue } from '@rosterbridge/core';

/**
 * Each product's summary of a run in the product's own words. The words are the product's: its
 * plugin declares summary lines in its manifest (`contributes.targets[].summary`), and the API's run
 * carries them with their values (`counts.targets[id].summary`, see `summarizeTarget`). A target
 * whose plugin declares none is summed up in the engine's words.
 */

type EntityCounts = Partial<Record<'created' | 'updated' | 'unchanged' | 'skipped' | 'deleted' | 'errors', number>>;

/** A product's summary of one target of a run. */
export interface ProductSummary {
  target: string;
  product: string;
  status?: string;
  lines: TargetSummaryValue[];
}

/** The product summary of a target's counts as the API answers them. */
export function productSummary(
  target: string,
  counts: { status?: string; product?: string; summary?: TargetSummaryValue[]; entities?: Record<string, EntityCounts> } | undefined,
): ProductSummary {
  const status = counts?.status;
  if (counts?.summary) return { target, product: counts.product ?? target, status, lines: counts.summary };
  const all = (k: keyof EntityCounts) => Object.values(counts?.entities ?? {}).reduce((a, c) => a + (c?.[k] ?? 0), 0);
  return {
    target,
    product: target,
    status,
    lines: (['created', 'updated', 'unchanged', 'deleted', 'skipped', 'errors'] as const).map((k) => ({ label: k, value: all(k) })),
  };
}
