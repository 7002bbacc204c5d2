import { z } from 'zod';

/**
 * Resources are named logically ("documents", "feed-dedup"); infra maps a name to a real resource
 * per stage, the local runner maps it to an emulator resource.
 */
export const logicalName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,39}[a-z0-9]$/, 'logical names are lower-case kebab-case: 2-41 letters, digits and hyphens, starting and ending with a letter or digit');

/**
 * Endings S3 keeps for its own names (access point aliases, Object Lambda access points, directory
 * buckets): CreateBucket refuses a bucket `laminar-<stage>-<logical>` that ends so.
 */
export const S3_RESERVED_BUCKET_SUFFIXES = ['-s3alias', '--ol-s3', '--x-s3'] as const;

/**
 * A logical bucket: a logical name (which, ending in a letter or digit, keeps the bucket's name
 * `laminar-<stage>-<logical>` ending in one, as S3 requires) that ends in none of S3's reserved suffixes.
 */
export const bucketLogicalName = logicalName.superRefine((bucket, ctx) => {
  const reserved = S3_RESERVED_BUCKET_SUFFIXES.find((suffix) => bucket.endsWith(suffix));
  if (reserved) ctx.addIssue({ code: 'custom', message: `bucket "${bucket}" ends in "${reserved}", which S3 reserves: CreateBucket would refuse laminar-<stage>-${bucket}` });
});

export const bucketRef = z.strictObject({
  bucket: bucketLogicalName,
  /**
   * Object key pattern inside the bucket, e.g. "manifests/*" or "*", or several (one grant over
   * each: the spellings of an any-case suffix, say). Absent = the bucket itself.
   */
  prefix: z.union([z.string(), z.array(z.string().min(1)).min(1)]).optional(),
});
export type BucketRef = z.infer<typeof bucketRef>;

/** A bucket grant's key patterns as a list (none: the bucket itself, as an empty prefix is). */
export function keyPatternsOf(ref: BucketRef): string[] {
  return ref.prefix === undefined || ref.prefix === '' ? [] : typeof ref.prefix === 'string' ? [ref.prefix] : ref.prefix;
}

export const tableRef = z.strictObject({ table: logicalName });
export type TableRef = z.infer<typeof tableRef>;

/** A Firehose delivery stream declared by some function's spec (deliveryStreams). */
export const deliveryStreamRef = z.strictObject({ deliveryStream: logicalName });
export type DeliveryStreamRef = z.infer<typeof deliveryStreamRef>;

/** Logical Kafka topic names; the stage (or the runner) maps them to real ones. */
export const topicName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,60}$/, 'topic names are lower-case, dots and dashes');

/** What an IAM permission can name. */
export const resourceRef = z.union([bucketRef, tableRef, deliveryStreamRef]);
export type ResourceRef = z.infer<typeof resourceRef>;

/** Stage-wide settings a function may read; infra takes them from stage configuration, the runner from its emulators. */
export const SETTINGS = ['kafkaBootstrapServers'] as const;
export type Setting = (typeof SETTINGS)[number];

/** An env value that names a logical resource or a stage setting, resolved per stage / locally. */
export const envRef = z.strictObject({
  ref: z.union([
    z.strictObject({ bucket: bucketLogicalName }),
    z.strictObject({ table: logicalName }),
    z.strictObject({ topic: topicName }),
    z.strictObject({ deliveryStream: logicalName }),
    z.strictObject({ setting: z.enum(SETTINGS) }),
  ]),
});
export type EnvRef = z.infer<typeof envRef>;

/** How each consumer names a logical resource: infra per stage, the runner per emulator. */
export interface ResourceNamer {
  bucket(logical: string): string;
  table(logical: string): string;
  topic(logical: string): string;
  deliveryStream(logical: string): string;
  setting(name: Setting): string;
}

/**
 * Kinds of tables a spec can declare. The key schema and TTL attribute are facts the packages that
 * write them, infra and the runner's emulator all read from here.
 * - dedup: claims of item ids (@laminar/dedup)
 * - idempotency: Powertools Idempotency records (its default attribute names)
 * - ledger: an append-only record of events per entity (partition) in time order (sort key)
 */
export interface TableSchema {
  partitionKey: string;
  sortKey?: string;
  ttlAttribute: string;
}
export const TABLE_KINDS = {
  dedup: { partitionKey: 'pk', ttlAttribute: 'expiresAt' },
  idempotency: { partitionKey: 'id', ttlAttribute: 'expiration' },
  ledger: { partitionKey: 'pk', sortKey: 'sk', ttlAttribute: 'expiresAt' },
} as const satisfies Record<string, TableSchema>;
export type TableKind = keyof typeof TABLE_KINDS;

/** The key part of a CreateTable request for a kind (plain data: this package has no AWS SDK). */
export function tableKeyDefinition(kind: TableKind) {
  const schema: TableSchema = TABLE_KINDS[kind];
  const keys = [
    { name: schema.partitionKey, type: 'HASH' as const },
    ...(schema.sortKey ? [{ name: schema.sortKey, type: 'RANGE' as const }] : []),
  ];
  return {
    KeySchema: keys.map((k) => ({ AttributeName: k.name, KeyType: k.type })),
    AttributeDefinitions: keys.map((k) => ({ AttributeName: k.name, AttributeType: 'S' as const })),
  };
}
