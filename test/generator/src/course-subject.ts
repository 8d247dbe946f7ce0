import type { ClassType } from '@rosterbridge/core';

/** A subject a generated school teaches courses in. */
export interface CourseSubject {
  /** The subject as OneRoster `subjects` carries it. */
  name: string;
  /** The SCED subject-area code, for `subjectCodes`. */
  scedCode: string;
  /** A short code for course and class codes. */
  abbreviation: string;
  /** Homeroom subjects make homeroom classes; the others make scheduled classes. */
  classType: ClassType;
}

const subject = (name: string, scedCode: string, abbreviation: string, classType: ClassType = 'scheduled'): CourseSubject =>
  Object.freeze({ name, scedCode, abbreviation, classType });

/** Subjects of elementary grades (up to 05), in the order schools add courses. */
export const ELEMENTARY_SUBJECTS: readonly CourseSubject[] = Object.freeze([
  subject('Homeroom', '22', 'HR', 'homeroom'),
  subject('English Language Arts', '01', 'ELA'),
  subject('Mathematics', '02', 'MATH'),
  subject('Science', '03', 'SCI'),
  subject('Social Studies', '04', 'SS'),
  subject('Art', '05', 'ART'),
  subject('Music', '05', 'MUS'),
  subject('Physical Education', '08', 'PE'),
  subject('Spanish', '06', 'SPAN'),
  subject('Library & Media', '22', 'LIB'),
  subject('Health', '08', 'HLTH'),
  subject('Computer Science', '10', 'CS'),
]);

/** Subjects of secondary grades (06 and above), in the order schools add courses. */
export const SECONDARY_SUBJECTS: readonly CourseSubject[] = Object.freeze([
  subject('English', '01', 'ENG'),
  subject('Mathematics', '02', 'MATH'),
  subject('Science', '03', 'SCI'),
  subject('Social Studies', '04', 'SS'),
  subject('Spanish', '06', 'SPAN'),
  subject('Physical Education', '08', 'PE'),
  subject('Visual Arts', '05', 'ART'),
  subject('Band', '05', 'BAND'),
  subject('Computer Science', '10', 'CS'),
  subject('Health', '08', 'HLTH'),
  subject('French', '06', 'FREN'),
  subject('Economics', '04', 'ECON'),
]);
