export * from './dynamodb.ts';
export * from './firehose.ts';
export * from './http.ts';
export * from './kafka.ts';
export * from './s3.ts';
export * from './seed.ts';
