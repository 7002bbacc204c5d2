export * from './s3.ts';
export * from './seed.ts';
