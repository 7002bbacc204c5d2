export * from './put-records.ts';
export * from './client.ts';
