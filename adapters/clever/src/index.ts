export * from './clever-transport';
export * from './clever-mapping';
export * from './clever-client';
export * from './clever-changes';
