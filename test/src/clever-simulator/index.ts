export * from './clever-resources';
export * from './clever-simulator';
