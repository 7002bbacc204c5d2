import { s3EnvSchema, unreachableByUrl } from '@laminar/aws';
import { z } from 'zod';

export const S3_KEY_PREFIX = z
  .string()
  .max(1024)
  .refine((p) => !p.startsWith('/'), 'must not start with "/"');

/**
 * Where manifests are written (MANIFEST_PREFIX, and an event's manifestPrefix): a folder, and no
 * "." or ".." segment — a manifest's key would keep it and its URL would not, so the link returned
 * would be dead.
 */
export const MANIFEST_PREFIX_SCHEMA = S3_KEY_PREFIX.refine((p) => p === '' || p.endsWith('/'), 'must end with "/"').refine(
  (p) => unreachableByUrl(p) === undefined,
  { error: (iss) => `must not hold ${unreachableByUrl(String(iss.input))}: the manifest's link could not reach it` },
);

export const configSchema = s3EnvSchema.extend({
  /** The bucket listed when the event names none. */
  DEFAULT_BUCKET: z.string().min(3).optional(),
  MANIFEST_PREFIX: MANIFEST_PREFIX_SCHEMA.default('manifests/'),
  URL_EXPIRY_SECONDS: z.coerce.number().int().min(1).max(604_800).default(900),
});
export type Config = z.output<typeof configSchema>;
