export * from './csv-package';
export * from './csv-manifest';
export * from './csv-issue-codes';
export * from './oneroster-csv-headers';
export * from './check-csv-header';
export * from './csv-row-reader';
