export * from './csv-package';
export * from './csv-manifest';
export * from './csv-issue-codes';
export * from './oneroster-csv-headers';
export { MAX_CSV_FILE_BYTES, MAX_CSV_PACKAGE_BYTES, type CsvPackageLimits } from './package-limits';
export * from './check-csv-header';
export { MAX_CSV_FIELD_LENGTH, MAX_CSV_ROW_LENGTH, readCsvRows, type CsvRow, type CsvRowLimits } from './csv-row-reader';
