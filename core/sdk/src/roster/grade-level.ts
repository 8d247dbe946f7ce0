/** The CEDS grade levels OneRoster 1.1 uses for `grades`. */
export const GRADE_LEVELS = [
  'IT',
  'PR',
  'PK',
  'TK',
  'KG',
  '01',
  '02',
  '03',
  '04',
  '05',
  '06',
  '07',
  '08',
  '09',
  '10',
  '11',
  '12',
  '13',
  'PS',
  'UG',
  'Other',
] as const;

/** A CEDS grade level, e.g. `KG`, `09`, `PS`. */
export type GradeLevel = (typeof GRADE_LEVELS)[number];

const GRADE_ALIASES: Readonly<Record<string, GradeLevel>> = {
  it: 'IT',
  infanttoddler: 'IT',
  pr: 'PR',
  preschool: 'PR',
  pk: 'PK',
  prek: 'PK',
  prekindergarten: 'PK',
  pk3: 'PK',
  pk4: 'PK',
  prek3: 'PK',
  prek4: 'PK',
  tk: 'TK',
  transitionalkindergarten: 'TK',
  transitionalk: 'TK',
  k: 'KG',
  kg: 'KG',
  kindergarten: 'KG',
  kinder: 'KG',
  ps: 'PS',
  postsecondary: 'PS',
  postgraduate: 'PS',
  ug: 'UG',
  ungraded: 'UG',
  other: 'Other',
};

// "9", "09", "9th", "Grade 9", "gr9", "9th grade"; 0 is how several SIS export kindergarten.
const NUMERIC_GRADE = /^(?:grade|gr|g)?0*(\d{1,2})(?:st|nd|rd|th)?(?:grade)?$/;

/**
 * The CEDS grade level a source's grade text means, or undefined when that cannot be known.
 * Accepts the CEDS codes themselves and the common forms real feeds send, in any case:
 * `"9"`/`"9th"`/`"Grade 9"` → `09`, `"K"`/`"Kindergarten"`/`"0"` → `KG`, `"PreK"`/`"Pre-K"` → `PK`,
 * `"Ungraded"` → `UG`, Clever's `"PostGraduate"` → `PS`.
 *
 * ```ts
 * normalizeGradeLevel('12th'); // '12'
 * normalizeGradeLevel('Freshman'); // undefined
 * ```
 */
export function normalizeGradeLevel(text: string): GradeLevel | undefined {
  const trimmed = text.trim();
  if ((GRADE_LEVELS as readonly string[]).includes(trimmed)) return trimmed as GradeLevel;
  // Spaces and underscores never matter; a hyphen only after a letter ("Pre-K", "Grade-9"), so
  // that "-1" and "1-2" stay unreadable.
  const key = trimmed
    .toLowerCase()
    .replace(/[\s_]+/g, '')
    .replace(/(?<=[a-z])-/g, '');
  const alias = GRADE_ALIASES[key];
  if (alias) return alias;
  const numeric = NUMERIC_GRADE.exec(key);
  if (!numeric) return undefined;
  const grade = Number(numeric[1]);
  if (grade === 0) return 'KG';
  if (grade > 13) return undefined;
  return String(grade).padStart(2, '0') as GradeLevel;
}
