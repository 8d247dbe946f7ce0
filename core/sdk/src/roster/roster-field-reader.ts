import { normalizeGradeLevel, type GradeLevel } from './grade-level';
import type { RosterEntity } from './roster-entity';
import { hasRosterErrors, RosterIssueCodes, type RosterIssue, type RosterIssueCode } from './roster-issue';
import type { CalendarDate } from './roster-record-base';
import { parseCalendarDate, parseRosterBoolean, parseRosterDateTime, parseUserIdList, splitRosterList } from './roster-value';
import { matchVocabulary } from './roster-vocabulary';
import type { UserId } from './user';

/**
 * One source record before parsing, field by field: a CSV row keyed by its header, or a REST JSON
 * object. Values are strings in CSV; REST adds booleans, arrays, nested refs and a `metadata` object.
 */
export type RawRosterRecord = Readonly<Record<string, unknown>>;

/** How to read one field. */
export interface RosterFieldOptions {
  /** Report {@link RosterIssueCodes.FIELD_REQUIRED} when the field is blank or missing. */
  required?: boolean;
  /** The REST name of the field when it differs from the CSV name (`parent` for `parentSourcedId`). */
  restName?: string;
}

// A shared default rather than `= {}`: every field of every record is read with options.
const NO_OPTIONS: RosterFieldOptions = Object.freeze({});

/**
 * Reads the fields of one raw record into typed values, collecting an issue for every field it
 * cannot read instead of throwing. Tolerates what real sources send: surrounding blanks, `""` for
 * absent, `"true"`/`"TRUE"` for booleans, lists as comma-separated text or arrays, references as
 * sourcedIds or `{ sourcedId }` objects, numbers where text is expected.
 *
 * ```ts
 * const reader = new RosterFieldReader('orgs', { sourcedId: 'org-1', name: 'Lincoln High', type: 'school' });
 * const type = reader.vocabulary('type', ORG_TYPES, { required: true }); // 'school'
 * reader.issues; // []
 * ```
 */
export class RosterFieldReader {
  /** Everything found wrong so far, in the order fields were read. */
  readonly issues: RosterIssue[] = [];

  constructor(
    readonly entity: RosterEntity,
    private readonly raw: RawRosterRecord,
  ) {}

  /** True when an error (not a warning) has been found. */
  get hasErrors(): boolean {
    return hasRosterErrors(this.issues);
  }

  /** Adds an issue about `field` of this record. */
  report(code: RosterIssueCode, field: string | undefined, message: string): void {
    // The sourcedId is looked up here, not up front: most records have no issue to name it in.
    const sourcedId = this.value('sourcedId');
    // Built key by key (as rosterIssue would, in the same key order) rather than spread: a file of
    // bad rows reports millions.
    const issue: RosterIssue = { code, severity: RosterIssueCodes[code].severity, message, entity: this.entity };
    if (typeof sourcedId === 'string') issue.sourcedId = sourcedId;
    if (field !== undefined) issue.field = field;
    this.issues.push(issue);
  }

  /** A text field, trimmed; undefined when blank. */
  text(field: string, options: RosterFieldOptions = NO_OPTIONS): string | undefined {
    const value = this.present(field, options);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') {
      this.report('BAD_VALUE', field, `${field} must be text, not ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  /** A field whose value must come from `vocabulary`; a match that ignores case is kept with a warning. */
  vocabulary<T extends string>(field: string, vocabulary: readonly T[], options: RosterFieldOptions = NO_OPTIONS): T | undefined {
    const text = this.text(field, options);
    if (text === undefined) return undefined;
    if ((vocabulary as readonly string[]).includes(text)) return text as T;
    const match = matchVocabulary(vocabulary, text);
    if (!match) {
      this.report('BAD_VOCABULARY', field, `${field} '${text}' is not one of ${vocabulary.join(', ')}`);
      return undefined;
    }
    if (!match.exact) {
      this.report('VOCABULARY_CASE', field, `${field} '${text}' is read as '${match.value}' (values are case-sensitive)`);
    }
    return match.value;
  }

  /** A boolean field: `true`/`false` in any case, or a JSON boolean. */
  boolean(field: string, options: RosterFieldOptions = NO_OPTIONS): boolean | undefined {
    const value = this.present(field, options);
    if (value === undefined || typeof value === 'boolean') return value;
    const parsed = typeof value === 'string' ? parseRosterBoolean(value) : undefined;
    if (parsed === undefined) this.report('BAD_BOOLEAN', field, `${field} ${describe(value)} is not true or false`);
    return parsed;
  }

  /** A calendar date field, `YYYY-MM-DD`. */
  calendarDate(field: string, options: RosterFieldOptions = NO_OPTIONS): CalendarDate | undefined {
    const text = this.text(field, options);
    if (text === undefined) return undefined;
    const date = parseCalendarDate(text);
    if (date === undefined) this.report('BAD_DATE', field, `${field} '${text}' is not a date of the form YYYY-MM-DD`);
    return date;
  }

  /** A date-time field such as `dateLastModified`; a bare date or a zone-less time is read as UTC, with a warning. */
  dateTime(field: string, options: RosterFieldOptions = NO_OPTIONS): Date | undefined {
    const text = this.text(field, options);
    if (text === undefined) return undefined;
    const parsed = parseRosterDateTime(text);
    if (!parsed) {
      this.report('BAD_DATE', field, `${field} '${text}' is not a date-time such as 2023-05-01T18:25:43.511Z`);
      return undefined;
    }
    if (parsed.withoutTime) {
      this.report('DATE_WITHOUT_TIME', field, `${field} '${text}' is a date without a time; read as midnight UTC`);
    } else if (parsed.withoutZone) {
      this.report('DATE_WITHOUT_ZONE', field, `${field} '${text}' has no time zone; read as UTC`);
    }
    return parsed.instant;
  }

  /** A four-digit year field, such as `schoolYear`. */
  year(field: string, options: RosterFieldOptions = NO_OPTIONS): string | undefined {
    const text = this.text(field, options);
    if (text === undefined) return undefined;
    if (/^\d{4}$/.test(text)) return text;
    this.report('BAD_VALUE', field, `${field} '${text}' is not a four-digit year`);
    return undefined;
  }

  /** A list of text: comma-separated in CSV, an array in JSON. */
  list(field: string, options: RosterFieldOptions = NO_OPTIONS): string[] {
    return this.items(field, options, textItem, 'text');
  }

  /** A reference to one record, by sourcedId (CSV) or as a `{ sourcedId }` ref (REST). */
  reference(field: string, options: RosterFieldOptions = NO_OPTIONS): string | undefined {
    const value = this.present(field, options);
    if (value === undefined) return undefined;
    const sourcedId = sourcedIdOf(value);
    if (sourcedId === undefined) this.report('BAD_VALUE', field, `${field} must be a sourcedId, not ${describe(value)}`);
    return sourcedId;
  }

  /** References to several records: comma-separated sourcedIds (CSV) or an array of refs (REST). */
  references(field: string, options: RosterFieldOptions = NO_OPTIONS): string[] {
    return this.items(field, options, sourcedIdOf, 'a sourcedId');
  }

  /** A list of grades, normalized to CEDS; grades that mean nothing knowable are left out with a warning. */
  grades(field: string, options: RosterFieldOptions = NO_OPTIONS): GradeLevel[] {
    const grades: GradeLevel[] = [];
    for (const text of this.list(field, options)) {
      const grade = normalizeGradeLevel(text);
      if (grade === undefined) {
        this.report('BAD_GRADE', field, `${field} '${text}' is not a CEDS grade level (KG, 01–13, PK, …); left out`);
      } else if (!grades.includes(grade)) {
        grades.push(grade);
      }
    }
    return grades;
  }

  /** A user's `userIds`: `{type:identifier}` items in CSV, `{ type, identifier }` objects in REST. */
  userIds(field: string, options: RosterFieldOptions = NO_OPTIONS): UserId[] {
    const value = this.present(field, options);
    if (value === undefined) return [];
    const userIds = typeof value === 'string' ? parseUserIdList(value) : userIdsOfJson(value);
    if (userIds === undefined) {
      this.report('BAD_USER_ID', field, `${field} ${describe(value)} is not a list of {type:identifier} items such as {LDAP:12},{LTI:15}`);
      return [];
    }
    return userIds;
  }

  /**
   * The record's extension fields: `metadata.<name>` keys (CSV columns) and the entries of a
   * `metadata` object (REST), by name; blank values are left out, non-text values kept as JSON.
   */
  metadata(): Record<string, string> {
    const metadata: Record<string, string> = {};
    const object = this.raw['metadata'];
    if (object !== null && typeof object === 'object' && !Array.isArray(object)) {
      for (const [name, value] of Object.entries(object)) putMetadata(metadata, name, value);
    }
    // Keys, not entries: this runs for every record, and nearly every key is not an extension column.
    const raw = this.raw;
    for (const key of Object.keys(raw)) {
      if (key.startsWith('metadata.')) putMetadata(metadata, key.slice('metadata.'.length), raw[key]);
    }
    return metadata;
  }

  private items(field: string, options: RosterFieldOptions, readItem: (item: unknown) => string | undefined, expected: string): string[] {
    const value = this.present(field, options);
    if (value === undefined) return [];
    if (typeof value === 'string') {
      // Text splits into trimmed, non-blank text items: none can fail `readItem`, so skip the item loop.
      const items = splitRosterList(value);
      if (items.length === 0 && options.required) this.report('FIELD_REQUIRED', field, `${field} is required`);
      return items;
    }
    const rawItems: unknown[] = Array.isArray(value) ? value : [value];
    const items: string[] = [];
    for (const rawItem of rawItems) {
      const item = readItem(typeof rawItem === 'number' ? String(rawItem) : rawItem)?.trim();
      if (item === undefined) {
        this.report('BAD_VALUE', field, `${field} has an item that is not ${expected}: ${describe(rawItem)}`);
        return [];
      }
      if (item !== '') items.push(item);
    }
    if (items.length === 0 && options.required) this.report('FIELD_REQUIRED', field, `${field} is required`);
    return items;
  }

  /** The field's value with blanks turned into undefined, reporting a blank required field. */
  private present(field: string, options: RosterFieldOptions): unknown {
    const value = this.value(field, options.restName);
    if (value === undefined && options.required) this.report('FIELD_REQUIRED', field, `${field} is required`);
    return value;
  }

  /**
   * The field's value as read: text trimmed, a number as text, undefined when blank, missing or an
   * empty array. Falls back to `restName` when the field itself is blank. A subclass reading
   * another shape of record overrides this and {@link metadata}.
   */
  protected value(field: string, restName?: string): unknown {
    let value = this.raw[field];
    if (restName !== undefined && isBlank(value)) value = this.raw[restName];
    if (typeof value === 'string') {
      // One trim serves both the blank test and the value.
      const text = value.trim();
      return text === '' ? undefined : text;
    }
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'number') return String(value);
    if (Array.isArray(value) && value.length === 0) return undefined;
    return value;
  }
}

/** Sets one `metadata` entry unless it is blank; text is trimmed, other values kept as JSON. */
function putMetadata(metadata: Record<string, string>, name: string, value: unknown): void {
  const text = typeof value === 'string' ? value.trim() : value == null ? '' : JSON.stringify(value);
  if (text !== '') metadata[name] = text;
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

function textItem(item: unknown): string | undefined {
  return typeof item === 'string' ? item : undefined;
}

function sourcedIdOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim();
  if (value !== null && typeof value === 'object' && 'sourcedId' in value) {
    const id = (value as { sourcedId: unknown }).sourcedId;
    if (typeof id === 'string' && id.trim() !== '') return id.trim();
  }
  return undefined;
}

function userIdsOfJson(value: unknown): UserId[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const userIds: UserId[] = [];
  for (const item of value) {
    if (item === null || typeof item !== 'object') return undefined;
    const { type, identifier } = item as { type?: unknown; identifier?: unknown };
    const typeText = typeof type === 'string' ? type.trim() : '';
    const identifierText = typeof identifier === 'string' || typeof identifier === 'number' ? String(identifier).trim() : '';
    if (typeText === '' || identifierText === '') return undefined;
    userIds.push({ type: typeText, identifier: identifierText });
  }
  return userIds;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  const json = JSON.stringify(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}
