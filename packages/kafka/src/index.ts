export * from './config.ts';
export * from './env.ts';
export * from './envelope.ts';
export * from './errors.ts';
export * from './producer.ts';
