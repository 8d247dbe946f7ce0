import type { RosterStatus } from './roster-vocabulary';

/**
 * A calendar date without time or zone, `YYYY-MM-DD` (startDate, birthDate, beginDate…). Kept as a
 * string because a `Date` would pin it to an instant and shift it across time zones.
 */
export type CalendarDate = string;

/** The fields every OneRoster 1.1 record has. */
export interface RosterRecordBase {
  /** The source's stable id for the record. */
  sourcedId: string;
  /** `active`, or `tobedeleted` for an explicit deletion. Blank in a bulk file means `active`. */
  status: RosterStatus;
  /** When the source last changed the record; undefined when the source does not say (bulk CSV). */
  dateLastModified: Date | undefined;
  /** Extension fields (`metadata.*` CSV columns, the REST `metadata` object), by name without the `metadata.` prefix. */
  metadata: Record<string, string>;
}
