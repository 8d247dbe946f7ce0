export * from './source-conformance';
