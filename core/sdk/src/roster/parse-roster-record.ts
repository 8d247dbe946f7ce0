import type { RosterEntity } from './roster-entity';
import { RosterFieldReader, type RawRosterRecord } from './roster-field-reader';
import { readRosterRecord, type RosterRecordResult } from './read-roster-record';

export type { RosterRecordResult } from './read-roster-record';

/**
 * Parses one raw record of `entity` (a CSV row keyed by header, or a REST JSON object) into its
 * canonical record. Never throws on bad data: every problem is an issue, and the record is left
 * out when any issue is an error. A blank `status` reads as `active`; optional fields that are
 * blank are left out of the record; lists are always arrays. For the many rows of one CSV file,
 * {@link RosterRowParser} gives the same results faster.
 *
 * ```ts
 * const { record, issues } = parseRosterRecord('classes', row);
 * if (record) batch.push(record);
 * report.push(...issues);
 * ```
 */
export function parseRosterRecord<E extends RosterEntity>(entity: E, raw: RawRosterRecord): RosterRecordResult<E> {
  return readRosterRecord(entity, new RosterFieldReader(entity, raw));
}
