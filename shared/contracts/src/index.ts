export * from './envelope';
export * from './events';
export * from './topology';
export * from './http';
export * from './headers';
export * from './published';
export * from './web';
