import { createHash } from 'node:crypto';
import { type S3Pattern, s3PatternKey, suffixSpellings } from './spec.ts';
import { derivedName, resourceName, s3Rule } from './resource-name.ts';
import { encodeS3EventKey } from './s3-keys.ts';

/**
 * Names and event patterns infra and the local runner must agree on — the runner names its local
 * queues and rules as stage "local" exactly as infra names them for "dev" or "prod".
 */

/** A declared queue (queues/<name>.ts). SQS names allow 80 characters. */
export function queueName(stage: string, logical: string): string {
  return resourceName(stage, logical, 80);
}


/**
 * The consumer-group stem of a function's Kafka trigger number `k` (from 0): the function's name
 * for the first, `<name>-<k+1>` after it, so that two triggers on one topic never share a group.
 */
export function kafkaGroupStem(functionName: string, k: number): string {
  return k === 0 ? functionName : `${functionName}-${k + 1}`;
}

/**
 * A Kafka trigger's event source mappings: one per topic (AWS takes exactly one topic per mapping),
 * topics once each and sorted, each with its consumer group `<group>.<topic>` — a trigger's only
 * topic too. A group is where the committed offsets live: one that depended on how many topics
 * the trigger names would be renamed when a topic is added or removed, and the renamed mapping
 * would read its topic again from its starting position (duplicates downstream). Infra and the
 * local runner both build theirs from it.
 */
export function kafkaMappings(group: string, topics: readonly string[]): { topic: string; consumerGroupId: string }[] {
  return [...new Set(topics)].sort().map((topic) => ({ topic, consumerGroupId: `${group}.${topic}`.slice(0, 255) }));
}

/** One EventBridge rule per distinct S3 pattern; its name carries a digest of the pattern. */
export function s3RuleName(stage: string, pattern: S3Pattern): string {
  return derivedName(stage, s3Rule(pattern.bucket, s3PatternDigest(pattern)));
}

/** 8 hex digits of the pattern's key: what names its rule (and addresses its resources in infra). */
export function s3PatternDigest(pattern: S3Pattern): string {
  return createHash('sha256').update(s3PatternKey(pattern)).digest('hex').slice(0, 8);
}

/** EventBridge's wildcard matcher treats "*" as any run of characters; literal ones are escaped. */
function wildcardEscape(s: string): string {
  return s.replace(/[\\*]/g, (c) => `\\${c}`);
}

/**
 * The EventBridge pattern matching S3's events for a bucket, key prefix and suffix: prefix or
 * suffix matchers alone, a wildcard when both are given (EventBridge cannot AND two matchers on one
 * field). A suffix also matched in upper case is one matcher per spelling (EventBridge's wildcard
 * is case-sensitive, and `equals-ignore-case` cannot be combined with a prefix on one field; it
 * would also take mixed case, which the role's grant does not).
 *
 * Events carry keys encoded (s3-keys.ts): `dt=2026-01-30/` arrives as `dt%3D2026-01-30/`, a space
 * as '+'. The spec's prefix and suffix are the real key's, so the pattern holds them encoded the
 * same way; written as is, a Hive-style partition prefix would never match.
 */
export function s3EventPattern(bucketName: string, t: S3Pattern): Record<string, unknown> {
  const prefix = encodeS3EventKey(t.prefix);
  const suffix = encodeS3EventKey(t.suffix);
  const key = t.alsoUpperCaseSuffix
    ? // Each spelling encoded on its own: an escape's hex digits are S3's, not the key's, to case.
      suffixSpellings(t).map((s) => (prefix ? { wildcard: `${wildcardEscape(prefix)}*${wildcardEscape(encodeS3EventKey(s))}` } : { suffix: encodeS3EventKey(s) }))
    : prefix && suffix
      ? [{ wildcard: `${wildcardEscape(prefix)}*${wildcardEscape(suffix)}` }]
      : prefix
        ? [{ prefix }]
        : suffix
          ? [{ suffix }]
          : undefined;
  return {
    source: ['aws.s3'],
    'detail-type': [...t.events].sort(),
    detail: { bucket: { name: [bucketName] }, ...(key ? { object: { key } } : {}) },
  };
}
