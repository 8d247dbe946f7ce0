import { SimulatorRequestError } from './simulator-request-error';

/** A parsed filter predicate. */
export interface ParsedFilterPredicate {
  field: string;
  operator: '=' | '!=' | '>' | '>=' | '<' | '<=' | '~';
  value: string;
}

/** A parsed `filter`: one predicate, or two joined by AND or OR. */
export interface ParsedOneRosterFilter {
  predicates: [ParsedFilterPredicate] | [ParsedFilterPredicate, ParsedFilterPredicate];
  join?: 'AND' | 'OR';
}

/** The query parameters of a OneRoster collection request. */
export interface OneRosterQuery {
  limit: number;
  offset: number;
  sort?: string;
  orderBy: 'asc' | 'desc';
  filter?: ParsedOneRosterFilter;
  fields?: string[];
}

const PREDICATE = String.raw`\s*([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*)\s*(!=|>=|<=|=|>|<|~)\s*'([^']*)'\s*`;
const FILTER = new RegExp(`^${PREDICATE}(?:(AND|OR)${PREDICATE})?$`, 'i');

/**
 * Reads the raw query string of a request (`limit`, `offset`, `sort`, `orderBy`, `filter`,
 * `fields`) the way a server does: `application/x-www-form-urlencoded`, so `+` is a space.
 * Throws a 400 {@link SimulatorRequestError} for a value that is not valid.
 */
export function parseOneRosterQuery(rawQuery: string, defaultLimit: number): OneRosterQuery {
  const params = new Map<string, string>();
  for (const [name, value] of decodeOneRosterQuery(rawQuery)) params.set(name, value);
  const limit = params.has('limit') ? wholeNumber(params.get('limit')!, 'limit', 1) : defaultLimit;
  const offset = params.has('offset') ? wholeNumber(params.get('offset')!, 'offset', 0) : 0;
  const orderBy = (params.get('orderBy') ?? 'asc').toLowerCase();
  if (orderBy !== 'asc' && orderBy !== 'desc') throw new SimulatorRequestError(400, `orderBy must be asc or desc, not "${orderBy}"`, 'invalid_sort_field');
  const query: OneRosterQuery = { limit, offset, orderBy };
  const sort = params.get('sort');
  if (sort !== undefined && sort !== '') query.sort = sort;
  const filter = params.get('filter');
  if (filter !== undefined && filter !== '') query.filter = parseOneRosterFilter(filter);
  const fields = params.get('fields');
  if (fields !== undefined && fields !== '')
    query.fields = fields
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean);
  return query;
}

/** Decodes a raw query string into name/value pairs, `+` as space, as RFC 5849 §3.4.1.3.1 reads it too. */
export function decodeOneRosterQuery(rawQuery: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    try {
      pairs.push([decodeURIComponent(name.replace(/\+/g, ' ')), decodeURIComponent(value.replace(/\+/g, ' '))]);
    } catch {
      throw new SimulatorRequestError(400, `the query parameter "${name}" is not percent-encoded correctly`, 'invalid_data');
    }
  }
  return pairs;
}

/** Parses a OneRoster filter: `field op 'value'`, optionally `AND` or `OR` and a second one. */
export function parseOneRosterFilter(text: string): ParsedOneRosterFilter {
  const match = FILTER.exec(text);
  if (!match) throw new SimulatorRequestError(400, `filter "${text}" is not of the form field<op>'value' [AND|OR field<op>'value']`, 'invalid_filter_field');
  const first: ParsedFilterPredicate = { field: match[1]!, operator: match[2] as ParsedFilterPredicate['operator'], value: match[3]! };
  if (match[4] === undefined) return { predicates: [first] };
  const second: ParsedFilterPredicate = { field: match[5]!, operator: match[6] as ParsedFilterPredicate['operator'], value: match[7]! };
  return { predicates: [first, second], join: match[4].toUpperCase() as 'AND' | 'OR' };
}

/**
 * Whether a rendered record passes the filter. Fields may be dotted (`school.sourcedId`); a
 * reference compares by its sourcedId; a list passes when any item does (`!=` when none equals);
 * two date-times compare as instants, two numbers as numbers, anything else as text; `~` is a
 * case-insensitive "contains". A field the record does not have is a 400, as OneRoster asks.
 */
export function matchesOneRosterFilter(record: Record<string, unknown>, filter: ParsedOneRosterFilter): boolean {
  const results = filter.predicates.map((p) => matchesPredicate(record, p));
  if (filter.join === 'AND') return results.every(Boolean);
  if (filter.join === 'OR') return results.some(Boolean);
  return results[0]!;
}

function matchesPredicate(record: Record<string, unknown>, predicate: ParsedFilterPredicate): boolean {
  const value = fieldValue(record, predicate.field);
  const values = Array.isArray(value) ? value.map(comparable) : [comparable(value)];
  if (predicate.operator === '!=') return !values.some((v) => compare(v, predicate.value) === 0);
  return values.some((v) => test(v, predicate));
}

function fieldValue(record: Record<string, unknown>, path: string): unknown {
  let value: unknown = record;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !(part in value)) {
      throw new SimulatorRequestError(400, `filter field "${path}" is not a field of these records`, 'invalid_filter_field');
    }
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function comparable(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object' && 'sourcedId' in value) return String((value as { sourcedId: unknown }).sourcedId);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function test(actual: string, predicate: ParsedFilterPredicate): boolean {
  if (predicate.operator === '~') return actual.toLowerCase().includes(predicate.value.toLowerCase());
  const order = compare(actual, predicate.value);
  switch (predicate.operator) {
    case '=':
      return order === 0;
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    default:
      return false;
  }
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Compares two field texts: as instants when both are ISO dates, as numbers when both are numbers, else as text. */
function compare(a: string, b: string): number {
  if (ISO_DATE.test(a) && ISO_DATE.test(b)) {
    const x = Date.parse(asUtc(a));
    const y = Date.parse(asUtc(b));
    if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
  }
  if (/^-?\d+(?:\.\d+)?$/.test(a) && /^-?\d+(?:\.\d+)?$/.test(b)) return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

function asUtc(text: string): string {
  if (text.length === 10) return `${text}T00:00:00Z`;
  return /(?:Z|[+-]\d{2}:?\d{2})$/i.test(text) ? text : `${text}Z`;
}

function wholeNumber(text: string, name: string, min: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min)
    throw new SimulatorRequestError(400, `${name} must be a whole number of at least ${min}, not "${text}"`, 'invalid_data');
  return Number(text);
}
