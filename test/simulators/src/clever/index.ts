export * from './clever-resources';
export * from './clever-simulator';
export * from './clever-read-back';
