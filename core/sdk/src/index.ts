// @rosterbridge/core, the plugin SDK: what every plugin sees. Lifecycle, events, logging, the secret
// censor, deadlines, DI, the plugin contracts (manifest, context, commands), the roster model, the
// source and target contracts, the run model plugins subscribe to, and the write helpers targets
// use. The engine that runs plugins and syncs (@rosterbridge/engine, core/engine) is not here.
export * from './errors/rosterbridge-error';
export * from './base/lifecycle';
export * from './base/event';
export * from './base/logger';
export * from './base/deadline';
export * from './base/secret-censor';
export * from './instantiation/service-id';
export * from './plugin/manifest';
export * from './plugin/plugin-context';
export * from './plugin/plugin-command';
export * from './roster';
export * from './roster/content-hash';
export * from './source/roster-source';
export * from './target/roster-target';
export * from './target/roster-change';
export * from './target/roster-contracts';
export * from './target/target-session-base';
export * from './target/binary-copy';
export * from './target/product-rows';
export * from './target/upsert-rows';
export * from './target/qualified-table';
export * from './target/skipped-records';
export * from './target/target-summary';
export * from './run/sync-run';
