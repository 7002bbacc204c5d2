import { z } from 'zod';

/**
 * Resources are named logically ("documents"); infra maps a name to a real ARN per stage,
 * the local runner maps it to an emulator resource. A prefix narrows an object grant.
 */
export const bucketRef = z.strictObject({
  bucket: z.string().regex(/^[a-z0-9][a-z0-9-]{1,40}$/, 'logical bucket names are lower-case kebab-case'),
  /** Object key pattern inside the bucket, e.g. "manifests/*" or "*". Absent = the bucket itself. */
  prefix: z.string().optional(),
});
export type BucketRef = z.infer<typeof bucketRef>;

export const resourceRef = bucketRef;
export type ResourceRef = z.infer<typeof resourceRef>;

/** A value for an environment variable that names a logical resource, resolved per stage. */
export const envRef = z.strictObject({ ref: bucketRef.pick({ bucket: true }) });
export type EnvRef = z.infer<typeof envRef>;

export function refKey(ref: ResourceRef): string {
  return `bucket:${ref.bucket}`;
}
