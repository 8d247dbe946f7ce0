import { RosterbridgeError } from '@rosterbridge/core';

/** The comparison operators of a OneRoster 1.1 filter; `~` is "contains". */
export type OneRosterFilterOperator = '=' | '!=' | '>' | '>=' | '<' | '<=' | '~';

/** Every {@link OneRosterFilterOperator}, longest first (the order a parser must try them in). */
export const ONEROSTER_FILTER_OPERATORS: readonly OneRosterFilterOperator[] = Object.freeze(['!=', '>=', '<=', '=', '>', '<', '~'] as const);

/** One comparison: `field op 'value'`. A `Date` is sent as its ISO 8601 instant. */
export interface OneRosterPredicate {
  field: string;
  operator: OneRosterFilterOperator;
  value: string | number | boolean | Date;
}

/** A filter: one predicate, or two joined by a single `AND` or `OR` (all that OneRoster 1.1 allows). */
export type OneRosterFilter =
  OneRosterPredicate | { and: readonly [OneRosterPredicate, OneRosterPredicate] } | { or: readonly [OneRosterPredicate, OneRosterPredicate] };

const FIELD = /^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*$/;

/**
 * Writes a filter as the value of the `filter` query parameter, before URL encoding (the client
 * percent-encodes it with the rest of the query).
 *
 * ```ts
 * formatOneRosterFilter({ field: 'dateLastModified', operator: '>', value: new Date('2024-09-01T00:00:00Z') });
 * // "dateLastModified>'2024-09-01T00:00:00.000Z'"
 * formatOneRosterFilter({ or: [{ field: 'role', operator: '=', value: 'student' }, { field: 'role', operator: '=', value: 'teacher' }] });
 * // "role='student' OR role='teacher'"
 * ```
 *
 * Throws a `BAD_REQUEST` {@link RosterbridgeError} for a field name that is not one, an unknown
 * operator, or a value holding a single quote (OneRoster 1.1 defines no way to escape one).
 */
export function formatOneRosterFilter(filter: OneRosterFilter): string {
  if ('and' in filter) return `${formatPredicate(filter.and[0])} AND ${formatPredicate(filter.and[1])}`;
  if ('or' in filter) return `${formatPredicate(filter.or[0])} OR ${formatPredicate(filter.or[1])}`;
  return formatPredicate(filter);
}

/** The filter of a delta read: records changed after `since`. */
export function modifiedSinceFilter(since: Date): OneRosterPredicate {
  return { field: 'dateLastModified', operator: '>', value: since };
}

function formatPredicate(predicate: OneRosterPredicate): string {
  if (!FIELD.test(predicate.field)) {
    throw new RosterbridgeError('BAD_REQUEST', `OneRoster filter field "${predicate.field}" is not a field name`, { field: predicate.field });
  }
  if (!ONEROSTER_FILTER_OPERATORS.includes(predicate.operator)) {
    throw new RosterbridgeError('BAD_REQUEST', `OneRoster filter operator "${predicate.operator}" is not one of ${ONEROSTER_FILTER_OPERATORS.join(' ')}`, {
      operator: predicate.operator,
    });
  }
  const value = predicate.value instanceof Date ? isoInstant(predicate.value) : String(predicate.value);
  if (value.includes("'")) {
    throw new RosterbridgeError('BAD_REQUEST', `OneRoster filter value for ${predicate.field} contains a single quote, which OneRoster 1.1 cannot express`, {
      field: predicate.field,
    });
  }
  return `${predicate.field}${predicate.operator}'${value}'`;
}

function isoInstant(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RosterbridgeError('BAD_REQUEST', 'OneRoster filter date is not a valid date');
  return date.toISOString();
}
