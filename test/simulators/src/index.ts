export * from './oneroster';
export * from './clever';
