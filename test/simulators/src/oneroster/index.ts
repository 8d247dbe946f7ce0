export * from './oneroster-dataset';
export * from './classlink-record-json';
export * from './simulator-fault';
export * from './oneroster-simulator-options';
export * from './oneroster-simulator';
