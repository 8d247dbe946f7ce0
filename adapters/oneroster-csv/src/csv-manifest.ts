import { isRosterEntity, matchVocabulary, ROSTER_ENTITY_ORDER, rosterIssue, type RosterEntity, type RosterIssue } from '@rosterbridge/core';
import { csvIssue } from './csv-issue-codes';
import type { CsvRow } from './csv-row-reader';
import { UNREAD_ONEROSTER_CSV_FILES } from './oneroster-csv-headers';

/** How the manifest declares a file: a full snapshot, changes only, or not supplied. */
export type CsvFileMode = 'bulk' | 'delta' | 'absent';

/** The values `file.<name>` may take. */
export const CSV_FILE_MODES: readonly CsvFileMode[] = ['bulk', 'delta', 'absent'];

/** The manifest.csv of a OneRoster CSV package, read. */
export interface CsvManifest {
  /** `manifest.version` as written (1.0 for OneRoster 1.1). */
  manifestVersion?: string;
  /** `oneroster.version` as written; only 1.1 is read. */
  onerosterVersion?: string;
  /** `source.systemName`, the system that produced the package. */
  sourceSystemName?: string;
  /** `source.systemCode`. */
  sourceSystemCode?: string;
  /** How each roster file is supplied; `absent` when declared so, not listed, or declared wrongly. */
  modes: Record<RosterEntity, CsvFileMode>;
  /** Every `file.<name>` entry as written, gradebook and resource files included. */
  declaredFiles: Record<string, string>;
}

/** A manifest that supplies nothing: every roster file absent. */
export function emptyCsvManifest(): CsvManifest {
  const modes = Object.fromEntries(ROSTER_ENTITY_ORDER.map((entity) => [entity, 'absent'])) as Record<RosterEntity, CsvFileMode>;
  return { modes, declaredFiles: {} };
}

/** The manifest as read, and everything wrong with it. */
export interface CsvManifestReading {
  manifest: CsvManifest;
  /**
   * Issues, all on manifest.csv. An error with an `entity` refuses that entity's file; an error
   * without one refuses the whole package.
   */
  issues: RosterIssue[];
}

const MANIFEST = 'manifest.csv';

/**
 * Reads the rows of manifest.csv (`propertyName,value`) into a {@link CsvManifest}, checking them
 * against OneRoster 1.1: the header, `oneroster.version` 1.1, a bulk|delta|absent mode for each
 * roster file, no conflicting duplicates. Unknown properties are warned about and ignored.
 */
export async function readCsvManifest(rows: AsyncIterable<CsvRow>): Promise<CsvManifestReading> {
  const manifest = emptyCsvManifest();
  const { modes } = manifest;
  const issues: RosterIssue[] = [];
  const seen = new Map<string, string>();
  let header: string[] | undefined;

  for await (const row of rows) {
    const where = { file: MANIFEST, line: row.line };
    if (row.error !== undefined) {
      issues.push(csvIssue('CSV_MANIFEST_INVALID', `manifest.csv line ${row.line} is not valid CSV: ${row.error}`, where));
      continue;
    }
    if (header === undefined) {
      header = row.fields;
      if (header[0] !== 'propertyName' || header[1] !== 'value') {
        issues.push(csvIssue('CSV_MANIFEST_INVALID', `manifest.csv must start with the header propertyName,value; it starts with ${header.join(',')}`, where));
        break;
      }
      continue;
    }
    const [property = '', value = '', ...extra] = row.fields.map((field) => field.trim());
    const fileName = property.startsWith('file.') ? property.slice('file.'.length) : undefined;
    const entity = fileName !== undefined && isRosterEntity(fileName) ? fileName : undefined;
    const scope = entity === undefined ? where : { ...where, entity };
    if (extra.some((field) => field !== '')) {
      issues.push(csvIssue('CSV_MANIFEST_INVALID', `manifest.csv line ${row.line} has more than two values: ${row.fields.join(',')}`, scope));
      continue;
    }
    const earlier = seen.get(property);
    if (earlier !== undefined) {
      if (earlier !== value) {
        issues.push(csvIssue('CSV_MANIFEST_INVALID', `manifest.csv sets ${property} twice, to '${earlier}' and '${value}'`, scope));
        if (entity) modes[entity] = 'absent';
      }
      continue;
    }
    seen.set(property, value);

    if (fileName !== undefined && (entity !== undefined || UNREAD_ONEROSTER_CSV_FILES.includes(fileName))) {
      manifest.declaredFiles[fileName] = value;
      const match = matchVocabulary(CSV_FILE_MODES, value);
      if (!match) {
        issues.push(csvIssue('CSV_MANIFEST_INVALID', `${property} is '${value}'; it must be bulk, delta or absent`, { ...scope, column: 2 }));
        continue;
      }
      if (!match.exact) {
        issues.push(
          rosterIssue('VOCABULARY_CASE', `${property} '${value}' is read as '${match.value}' (values are case-sensitive)`, {
            ...scope,
            field: 'value',
            column: 2,
          }),
        );
      }
      if (entity) modes[entity] = match.value;
      else if (match.value !== 'absent') {
        issues.push(csvIssue('CSV_FILE_NOT_SUPPORTED', `${fileName}.csv is declared ${match.value}; gradebook and resource files are not read`, where));
      }
      continue;
    }
    switch (property) {
      case 'manifest.version':
        manifest.manifestVersion = value;
        break;
      case 'oneroster.version':
        manifest.onerosterVersion = value;
        if (value !== '1.1') {
          issues.push(csvIssue('CSV_UNSUPPORTED_VERSION', `oneroster.version is '${value}'; only OneRoster 1.1 packages are read`, { ...where, column: 2 }));
        }
        break;
      case 'source.systemName':
        manifest.sourceSystemName = value;
        break;
      case 'source.systemCode':
        manifest.sourceSystemCode = value;
        break;
      default:
        issues.push(
          csvIssue('CSV_MANIFEST_UNKNOWN_PROPERTY', `manifest.csv property '${property}' is not defined by OneRoster 1.1; ignored`, { ...where, column: 1 }),
        );
    }
  }

  if (header === undefined) {
    issues.push(csvIssue('CSV_MANIFEST_INVALID', 'manifest.csv is empty', { file: MANIFEST }));
  } else if (issues.every((issue) => issue.code !== 'CSV_MANIFEST_INVALID' || issue.entity !== undefined)) {
    if (manifest.onerosterVersion === undefined) {
      issues.push(csvIssue('CSV_MANIFEST_INVALID', 'manifest.csv does not give oneroster.version (1.1)', { file: MANIFEST }));
    }
    for (const entity of ROSTER_ENTITY_ORDER) {
      if (!seen.has(`file.${entity}`)) {
        issues.push(
          csvIssue('CSV_MANIFEST_FILE_UNLISTED', `manifest.csv does not list file.${entity}; ${entity} is treated as absent`, { file: MANIFEST, entity }),
        );
      }
    }
  }
  return { manifest, issues };
}
