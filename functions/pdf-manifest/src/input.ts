import { z } from 'zod';
import { type Config, MANIFEST_PREFIX_SCHEMA, S3_KEY_PREFIX } from './config.ts';

const BUCKET_NAME = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'not a valid S3 bucket name (3–63 of a-z 0-9 . -)');

/**
 * SigV4 presigned URLs live at most 7 days, and only when signed with long-term keys. Signed with a
 * session (the role's credentials, as on Lambda) they die with it: the presigner caps the lifetime
 * (UNKNOWN_SESSION_LIFETIME_SECONDS in @laminar/aws) and the result's expiresAt says so. A longer
 * expiresIn is still accepted rather than refused: what the credentials are is known only at signing.
 */
export const MAX_EXPIRY_SECONDS = 604_800;

/**
 * The event, with deploy-time defaults from the environment. Unknown fields are refused (typos).
 *
 * The function's role reads DEFAULT_BUCKET and writes only under MANIFEST_PREFIX there (spec.ts):
 * an event naming another bucket, or a manifest prefix outside that one, is refused up front with
 * the reason. On AWS it would list, presign and then fail on AccessDenied half-way; locally,
 * where nothing checks IAM, it would succeed where the deployed function cannot.
 */
export function inputSchema(config: Config) {
  return z
    .strictObject({
      bucket: BUCKET_NAME.optional(),
      prefix: S3_KEY_PREFIX.default(''),
      suffix: z.string().max(64).default('.pdf'),
      expiresIn: z.number().int().min(1).max(MAX_EXPIRY_SECONDS).default(config.URL_EXPIRY_SECONDS),
      manifestPrefix: MANIFEST_PREFIX_SCHEMA.default(config.MANIFEST_PREFIX),
    })
    .transform((input, ctx) => {
      const bucket = input.bucket ?? config.DEFAULT_BUCKET;
      if (!bucket) {
        ctx.addIssue({ code: 'custom', path: ['bucket'], message: 'required (no DEFAULT_BUCKET is configured)' });
        return z.NEVER;
      }
      let granted = true;
      if (config.DEFAULT_BUCKET && bucket !== config.DEFAULT_BUCKET) {
        ctx.addIssue({ code: 'custom', path: ['bucket'], message: `this function may read ${config.DEFAULT_BUCKET} only (its DEFAULT_BUCKET), not ${bucket}` });
        granted = false;
      }
      if (!input.manifestPrefix.startsWith(config.MANIFEST_PREFIX)) {
        ctx.addIssue({
          code: 'custom',
          path: ['manifestPrefix'],
          message: `this function may write manifests under ${JSON.stringify(config.MANIFEST_PREFIX)} only (its MANIFEST_PREFIX), not ${JSON.stringify(input.manifestPrefix)}`,
        });
        granted = false;
      }
      return granted ? { ...input, bucket } : z.NEVER;
    });
}
export type ManifestInput = z.output<ReturnType<typeof inputSchema>>;
