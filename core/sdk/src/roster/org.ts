import type { RosterRecordBase } from './roster-record-base';
import type { OrgType } from './roster-vocabulary';

/** An organisation: a district, school, department… (OneRoster 1.1 `org`). */
export interface Org extends RosterRecordBase {
  name: string;
  type: OrgType;
  /** A human-readable identifier, such as a state or NCES school id. */
  identifier?: string;
  /** The parent org (a school's district, a department's school). */
  parentSourcedId?: string;
}
