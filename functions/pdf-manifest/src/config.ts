import { unreachableByUrl } from '@laminar/aws';
import { s3EnvSchema } from '@laminar/aws';
import { z } from 'zod';

export const S3_KEY_PREFIX = z
  .string()
  .max(1024)
  .refine((p) => !p.startsWith('/'), 'must not start with "/"');

export const configSchema = s3EnvSchema.extend({
  /** The bucket listed when the event names none. */
  DEFAULT_BUCKET: z.string().min(3).optional(),
  MANIFEST_PREFIX: S3_KEY_PREFIX.refine((p) => p === '' || p.endsWith('/'), 'must end with "/"')
    // As the event's manifestPrefix (input.ts): a manifest under it would have a dead link.
    .refine((p) => unreachableByUrl(p) === undefined, { error: (iss) => `must not hold ${unreachableByUrl(String(iss.input))}: a manifest's link could not reach it` })
    .default('manifests/'),
  URL_EXPIRY_SECONDS: z.coerce.number().int().min(1).max(604_800).default(900),
});
export type Config = z.output<typeof configSchema>;
