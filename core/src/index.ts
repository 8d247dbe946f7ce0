export * from './errors/rosterbridge-error';
export * from './base/lifecycle';
export * from './base/event';
export * from './instantiation/service-id';
export * from './roster';
