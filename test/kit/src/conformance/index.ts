export * from './source-conformance';
export * from './target-conformance';
