// @rosterbridge/engine: what runs plugins and syncs, for the host and the test kit (never a plugin;
// scripts/check-imports.js refuses it). Plugin discovery, activation and the contribution registries;
// the sync engine (source → ledger's change log → targets), the ledger, the run store, the run issue
// log and the migrations of their tables. Built on the plugin SDK (@rosterbridge/core).
export * from './plugins/plugin-discovery';
export * from './plugins/plugin-registry';
export * from './plugins/contribution-registry';
export * from './sync-migrations';
export * from './engine-database';
export * from './ledger';
export * from './run-store';
export * from './run-issue-log';
export * from './sync-engine';
export * from './school-scope';
