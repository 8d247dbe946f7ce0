export * from './csv-package';
export * from './csv-manifest';
export * from './csv-issue-codes';
export * from './oneroster-csv-headers';
export * from './check-csv-header';
export { MAX_CSV_ROW_LENGTH, readCsvRows, type CsvRow } from './csv-row-reader';
