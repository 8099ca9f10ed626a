export * from './envelope';
export * from './events';
export * from './topology';
