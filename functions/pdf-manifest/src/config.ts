import { s3EnvSchema, unreachableByUrl } from '@laminar/aws';
import { z } from 'zod';

/** S3 limits a key to 1,024 bytes of UTF-8, not characters. */
const S3_KEY_MAX_BYTES = 1024;

// JSON can carry an unpaired surrogate (\uD800–\uDFFF), and the SDK's encodeURIComponent throws on
// it (URIError: URI malformed) only once the request is made: a retried failure that names nothing.
export const S3_KEY_PREFIX = z
  .string()
  // In a /u pattern a pair is one code point: \p{Cs} matches only a surrogate left unpaired.
  .refine((p) => !/\p{Cs}/u.test(p), 'must be valid Unicode: no unpaired surrogate (\\uD800–\\uDFFF), which no S3 key can hold')
  .refine((p) => Buffer.byteLength(p) <= S3_KEY_MAX_BYTES, `must be at most ${S3_KEY_MAX_BYTES.toLocaleString('en')} bytes (UTF-8), S3's limit for a key`)
  .refine((p) => !p.startsWith('/'), 'must not start with "/"');

/** What a manifest's key adds to its prefix: `yyyy-mm-dd/`, the 36-character request id, `.jsonl`. */
export const MANIFEST_NAME_BYTES = 11 + 36 + 6;

/**
 * Where manifests are written (MANIFEST_PREFIX, and an event's manifestPrefix): a folder, and no
 * "." or ".." segment — a manifest's key would keep it and its URL would not, so the link returned
 * would be dead.
 */
export const MANIFEST_PREFIX_SCHEMA = S3_KEY_PREFIX.refine((p) => p === '' || p.endsWith('/'), 'must end with "/"')
  // Refused up front: S3 would refuse the manifest's key only after the whole listing was presigned.
  .refine((p) => Buffer.byteLength(p) + MANIFEST_NAME_BYTES <= S3_KEY_MAX_BYTES, {
    error: `must be at most ${(S3_KEY_MAX_BYTES - MANIFEST_NAME_BYTES).toLocaleString('en')} bytes (UTF-8): the manifest's key adds ${MANIFEST_NAME_BYTES} to it, and S3 keys end at ${S3_KEY_MAX_BYTES.toLocaleString('en')}`,
  })
  .refine(
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
