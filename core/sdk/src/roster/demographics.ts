import type { CalendarDate, RosterRecordBase } from './roster-record-base';
import type { Sex } from './roster-vocabulary';

/**
 * A user's demographic facts (OneRoster 1.1 `demographics`). Its sourcedId is the user's. The
 * race and ethnicity flags are undefined when the source does not say.
 */
export interface Demographics extends RosterRecordBase {
  birthDate?: CalendarDate;
  sex?: Sex;
  americanIndianOrAlaskaNative?: boolean;
  asian?: boolean;
  blackOrAfricanAmerican?: boolean;
  nativeHawaiianOrOtherPacificIslander?: boolean;
  white?: boolean;
  demographicRaceTwoOrMoreRaces?: boolean;
  hispanicOrLatinoEthnicity?: boolean;
  /** ISO 3166-1 alpha-2 country code. */
  countryOfBirthCode?: string;
  stateOfBirthAbbreviation?: string;
  cityOfBirth?: string;
  publicSchoolResidenceStatus?: string;
}
