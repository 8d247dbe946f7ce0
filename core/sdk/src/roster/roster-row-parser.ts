import type { RosterEntity } from './roster-entity';
import { RosterFieldReader } from './roster-field-reader';
import { readRosterRecord, type RosterRecordResult } from './read-roster-record';

const METADATA_PREFIX = 'metadata.';

/** Where a header puts its values: each key's column, and the extension columns that make `metadata`. */
interface RowLayout {
  /** The column of each key; the last one when a key repeats, as when the row is made into an object. */
  readonly columns: ReadonlyMap<string, number>;
  /** `metadata.<name>` keys, by name (prefix dropped), in header order. */
  readonly metadataColumns: readonly { readonly name: string; readonly column: number }[];
}

/**
 * Parses the rows of one CSV file into canonical records, given the key of each column:
 * `parser.parse(row)` gives what `parseRosterRecord(entity, raw)` gives for the object `raw` that
 * maps each key to the row's value in its column, only faster. Where each field and extension
 * column is gets worked out once, from the keys, instead of once per row; no object is built for
 * the row.
 *
 * ```ts
 * const parser = new RosterRowParser('orgs', ['sourcedId', 'status', 'dateLastModified', 'name', 'type', 'identifier', 'parentSourcedId', 'metadata.ncesId']);
 * const { record, issues } = parser.parse(['org-1', '', '', 'Lincoln High', 'school', '', 'dist-1', '0612345']);
 * record?.metadata; // { ncesId: '0612345' }
 * ```
 */
export class RosterRowParser<E extends RosterEntity> {
  private readonly layout: RowLayout;

  /** `keys[i]` is the key of column i: a field name, or `metadata.<name>` for an extension column. */
  constructor(
    readonly entity: E,
    keys: readonly string[],
  ) {
    const columns = new Map<string, number>();
    keys.forEach((key, column) => columns.set(key, column));
    const metadataColumns = [...columns]
      .filter(([key]) => key.startsWith(METADATA_PREFIX))
      .map(([key, column]) => ({ name: key.slice(METADATA_PREFIX.length), column }));
    this.layout = { columns, metadataColumns };
  }

  /** Parses one row: the same record and issues as {@link parseRosterRecord} gives for it keyed by column. */
  parse(row: readonly string[]): RosterRecordResult<E> {
    return readRosterRecord(this.entity, new RosterRowReader(this.entity, this.layout, row));
  }
}

const NO_RAW_FIELDS = Object.freeze({});

/** A {@link RosterFieldReader} that takes values from a row's columns rather than from an object's keys. */
class RosterRowReader extends RosterFieldReader {
  constructor(
    entity: RosterEntity,
    private readonly layout: RowLayout,
    private readonly row: readonly string[],
  ) {
    super(entity, NO_RAW_FIELDS);
  }

  protected override value(field: string, restName?: string): string | undefined {
    let text = this.textOf(field);
    if (text === '' && restName !== undefined) text = this.textOf(restName);
    return text === '' ? undefined : text;
  }

  override metadata(): Record<string, string> {
    const metadata: Record<string, string> = {};
    for (const { name, column } of this.layout.metadataColumns) {
      const text = this.row[column]?.trim() ?? '';
      if (text !== '') metadata[name] = text;
    }
    return metadata;
  }

  /** The key's value trimmed; '' when the header has no such key or the row stops short of it. */
  private textOf(key: string): string {
    const column = this.layout.columns.get(key);
    return column === undefined ? '' : (this.row[column]?.trim() ?? '');
  }
}
