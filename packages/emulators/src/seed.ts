import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { seedStore } = require('./s3-seed.cjs') as {
  seedStore(directory: string, bucket: string, objects: SeedObject[], concurrency?: number): Promise<void>;
};

export interface SeedObject {
  key: string;
  body: string | Buffer;
  contentType?: string;
}

/**
 * Seeds a stopped (or not yet started) embedded S3's data folder directly — for benchmarks and
 * large fixtures. Tests of behaviour should PUT through the API instead.
 */
export function seedS3Directory(directory: string, bucket: string, objects: SeedObject[]): Promise<void> {
  return seedStore(directory, bucket, objects);
}
