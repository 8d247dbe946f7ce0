export {};
export * from './test-database';
export * from './test-host';
export * from './generator';
export * from './shared-fixtures';
export * from './simulator';
