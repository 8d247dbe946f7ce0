import type { CalendarDate } from './roster-record-base';
import type { UserId } from './user';

/**
 * Reads a OneRoster boolean: `true` or `false` in any case (`TRUE` from spreadsheets, `"true"` from
 * ClassLink's JSON). Undefined for anything else.
 */
export function parseRosterBoolean(text: string): boolean | undefined {
  // The exact spellings are what nearly every row sends: answer them without trimming or lower-casing.
  if (text === 'true') return true;
  if (text === 'false') return false;
  const lower = text.trim().toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  return undefined;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * True when the date exists in the proleptic Gregorian calendar, as `Date` reckons it. Computed
 * rather than asked of a `Date`, which costs an allocation on every date of every row. Years 0–99
 * never match: they were checked with `Date.UTC`, which reads them as 1900–1999.
 */
function isRealDate(year: number, month: number, day: number): boolean {
  if (year < 100 || month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!);
}

const ZERO = 0x30;
const DASH = 0x2d;

/** The number written by the decimal digits of `text` from `start` to `end`, or -1 when one is not a digit. */
function digitsAt(text: string, start: number, end: number): number {
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = text.charCodeAt(i) - ZERO;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** Reads a `YYYY-MM-DD` calendar date that exists (no 2023-02-30). Undefined otherwise. */
export function parseCalendarDate(text: string): CalendarDate | undefined {
  // Read character by character: a regular expression's match array per date is measurable on a large file.
  const date = text.trim();
  if (date.length !== 10 || date.charCodeAt(4) !== DASH || date.charCodeAt(7) !== DASH) return undefined;
  const year = digitsAt(date, 0, 4);
  const month = digitsAt(date, 5, 7);
  const day = digitsAt(date, 8, 10);
  if (year < 0 || month < 0 || day < 0) return undefined;
  return isRealDate(year, month, day) ? date : undefined;
}

/** A date-time as read, with what had to be assumed to read it. */
export interface RosterDateTime {
  instant: Date;
  /** The text was a bare date; midnight UTC was assumed. */
  withoutTime: boolean;
  /** The text had a time but no zone; UTC was assumed. */
  withoutZone: boolean;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Reads an ISO 8601 date-time such as `2023-05-01T18:25:43.511Z` (`dateLastModified`). A bare date
 * or a time without a zone is read as UTC and flagged, so the caller can warn. Undefined when the
 * text is not a date-time or names a moment that does not exist.
 */
export function parseRosterDateTime(text: string): RosterDateTime | undefined {
  const trimmed = text.trim();
  if (trimmed.length === 24) {
    // What nearly every source sends, toISOString's `2023-05-01T18:25:43.511Z`: read by character
    // code, as parseCalendarDate reads a date, instead of a regular expression and a date string
    // built to be parsed again. Anything else of that length goes the general way below.
    const instant = isoInstant(trimmed);
    if (instant !== undefined) return { instant, withoutTime: false, withoutZone: false };
  }
  const match = DATE_TIME.exec(trimmed);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, fraction, zone] = match;
  if (!isRealDate(Number(year), Number(month), Number(day))) return undefined;
  if (hour === undefined) {
    return { instant: new Date(`${year}-${month}-${day}T00:00:00Z`), withoutTime: true, withoutZone: false };
  }
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second ?? 0) > 59) return undefined;
  const millis = (fraction ?? '').padEnd(3, '0').slice(0, 3);
  const offset = zone === undefined || zone.toUpperCase() === 'Z' ? 'Z' : zone.replace(/^([+-]\d{2}):?(\d{2})$/, '$1:$2');
  const instant = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second ?? '00'}.${millis}${offset}`);
  if (Number.isNaN(instant.getTime())) return undefined;
  return { instant, withoutTime: false, withoutZone: zone === undefined };
}

const COLON = 0x3a;
const DOT = 0x2e;

/**
 * The instant written as `YYYY-MM-DDTHH:MM:SS.sssZ` (`T` or a space, `Z` in either case, as the
 * general pattern allows), or undefined when `text` (24 characters) is not that or names no real
 * moment; what the general path gives for the same text.
 */
function isoInstant(text: string): Date | undefined {
  const t = text.charCodeAt(10);
  const z = text.charCodeAt(23);
  if (
    text.charCodeAt(4) !== DASH ||
    text.charCodeAt(7) !== DASH ||
    (t !== 0x54 && t !== 0x74 && t !== 0x20) ||
    text.charCodeAt(13) !== COLON ||
    text.charCodeAt(16) !== COLON ||
    text.charCodeAt(19) !== DOT ||
    (z !== 0x5a && z !== 0x7a)
  ) {
    return undefined;
  }
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 7);
  const day = digitsAt(text, 8, 10);
  const hour = digitsAt(text, 11, 13);
  const minute = digitsAt(text, 14, 16);
  const second = digitsAt(text, 17, 19);
  const millis = digitsAt(text, 20, 23);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 || millis < 0) return undefined;
  if (!isRealDate(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined;
  // isRealDate leaves out years below 100, which Date.UTC would read as 1900–1999.
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, millis));
}

/** Splits a comma-separated OneRoster list (`"09,10, 11"`), trimming items and dropping blank ones. */
export function splitRosterList(text: string): string[] {
  // Most lists hold one item: skip building and filtering the intermediate arrays for them.
  if (!text.includes(',')) {
    const item = text.trim();
    return item === '' ? [] : [item];
  }
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/**
 * Reads a CSV `userIds` field, `{LDAP:12},{LTI:15}`: items in braces, separated by commas, each a
 * type and an identifier split at the first colon. Undefined when the text does not have that
 * form, or an item lacks its type or identifier.
 */
export function parseUserIdList(text: string): UserId[] | undefined {
  const trimmed = text.trim();
  const userIds: UserId[] = [];
  const item = /\{([^{}]*)\}\s*(?:,\s*|$)/y;
  while (item.lastIndex < trimmed.length) {
    const match = item.exec(trimmed);
    if (!match) return undefined;
    const body = match[1]!;
    const colon = body.indexOf(':');
    const type = body.slice(0, Math.max(colon, 0)).trim();
    const identifier = body.slice(colon + 1).trim();
    if (colon < 0 || type === '' || identifier === '') return undefined;
    userIds.push({ type, identifier });
  }
  return trimmed.endsWith(',') ? undefined : userIds;
}
