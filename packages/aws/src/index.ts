export * from './presigner.ts';
export * from './s3-client.ts';
export * from './upload.ts';
export * from './dynamodb-client.ts';
export * from './dynamodb-tables.ts';
export * from './s3-events.ts';
export * from './multipart-writer.ts';
export * from './http-handler.ts';
