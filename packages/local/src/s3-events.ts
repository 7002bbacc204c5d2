import { randomUUID } from 'node:crypto';
import { encodeS3EventKey } from '@laminar/aws';
import { byCodePoint, describeS3KeyPattern, type QueueSpec, type S3Pattern, type S3Trigger, s3EventPattern, s3PatternKey, s3RuleName } from '@laminar/spec';

/**
 * S3 → EventBridge, as AWS does it: every object write or delete in a bucket becomes an
 * EventBridge event ("Object Created" / "Object Deleted" from aws.s3), and every rule whose
 * pattern matches delivers it to all of its targets. Infra makes one rule per S3 pattern
 * (`s3PatternKey`) with every function and queue that declared it; the runner groups them the same.
 */

export type S3DetailType = 'Object Created' | 'Object Deleted';

/** S3's `reason` for the event (the API call behind it); a browser form upload is "POST Object", as AWS spells it. */
export type S3EventReason = 'PutObject' | 'POST Object' | 'CopyObject' | 'CompleteMultipartUpload' | 'DeleteObject';

/** One change to one object, whatever reported it. */
export interface S3ObjectChange {
  detailType: S3DetailType;
  reason: S3EventReason;
  bucket: string;
  /** The real key (not encoded). */
  key: string;
  size?: number;
  etag?: string;
  versionId?: string;
  sequencer: string;
  requestId: string;
  sourceIp: string;
  time: Date;
}

/** The EventBridge event S3 sends, key for key in the order AWS's examples show. */
export interface S3EventBridgeEvent {
  version: '0';
  id: string;
  'detail-type': S3DetailType;
  source: 'aws.s3';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: {
    version: '0';
    'event-version': '1.0';
    bucket: { name: string };
    object: { key: string; size?: number; etag?: string; 'version-id'?: string; sequencer: string };
    'request-id': string;
    requester: string;
    'source-ip-address': string;
    reason: S3EventReason;
    'deletion-type'?: 'Permanently Deleted' | 'Delete Marker Created';
  };
}

/** EventBridge's `time`: UTC, whole seconds. */
const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function s3EventBridgeEvent(
  change: S3ObjectChange,
  options: { region: string; account?: string; id?: string },
): S3EventBridgeEvent {
  const account = options.account ?? '000000000000';
  const created = change.detailType === 'Object Created';
  return {
    version: '0',
    id: options.id ?? randomUUID(),
    'detail-type': change.detailType,
    source: 'aws.s3',
    account,
    time: isoSeconds(change.time),
    region: options.region,
    resources: [`arn:aws:s3:::${change.bucket}`],
    detail: {
      version: '0',
      // As AWS's "EventBridge event message structure" shows S3's events today.
      'event-version': '1.0',
      bucket: { name: change.bucket },
      object: {
        // Form-encoded ("a b.csv" → "a+b.csv"), as classic notification keys are documented to be.
        // AWS documents nothing for EventBridge; AWS's Powertools (Python) decode this key with
        // unquote_plus. @laminar/aws decodes it back.
        key: encodeS3EventKey(change.key),
        ...(created && change.size !== undefined ? { size: change.size } : {}),
        ...(created && change.etag ? { etag: change.etag } : {}),
        ...(change.versionId ? { 'version-id': change.versionId } : {}),
        sequencer: change.sequencer,
      },
      'request-id': change.requestId,
      requester: account,
      'source-ip-address': change.sourceIp,
      reason: change.reason,
      // Buckets here are unversioned: a delete removes the object for good.
      ...(created ? {} : { 'deletion-type': 'Permanently Deleted' as const }),
    },
  };
}

/**
 * S3's sequencer orders events for one key: a hex string, greater = later. Time in microseconds
 * plus a counter, so two writes in the same millisecond still order.
 */
export function createSequencer(now: () => number = Date.now): () => string {
  let last = 0n;
  return () => {
    let next = BigInt(now()) * 1000n;
    if (next <= last) next = last + 1n;
    last = next;
    return next.toString(16).toUpperCase().padStart(16, '0');
  };
}

/** A record as s3rver emits it (an S3 notification record), with what we read of it. */
interface NotificationRecord {
  eventName?: string;
  eventTime?: string;
  requestParameters?: { sourceIPAddress?: string };
  responseElements?: { 'x-amz-request-id'?: string };
  s3?: { bucket?: { name?: string }; object?: { key?: string; size?: number; eTag?: string; versionId?: string } };
}

export interface EmulatorRequest {
  operation: string;
  requestId: string;
  sourceIp: string;
}

const REASONS: Record<string, S3EventReason> = {
  PutObject: 'PutObject',
  PostObject: 'POST Object',
  CopyObject: 'CopyObject',
  CompleteMultipartUpload: 'CompleteMultipartUpload',
  DeleteObject: 'DeleteObject',
};

/** What a notification of the embedded S3 says changed; unknown event names give nothing. */
export function changesFromNotification(event: unknown, request: EmulatorRequest | undefined, sequencer: () => string): S3ObjectChange[] {
  const records = (event as { Records?: NotificationRecord[] } | undefined)?.Records ?? [];
  const out: S3ObjectChange[] = [];
  for (const r of records) {
    const name = r.eventName ?? '';
    const bucket = r.s3?.bucket?.name;
    const key = r.s3?.object?.key;
    if (!bucket || key === undefined) continue;
    const created = name.startsWith('ObjectCreated:');
    if (!created && !name.startsWith('ObjectRemoved:')) continue;
    // Without the request (an older emulator), the record's own name says what it can.
    const fallback: S3EventReason = created ? (name === 'ObjectCreated:Copy' ? 'CopyObject' : name === 'ObjectCreated:Post' ? 'CompleteMultipartUpload' : 'PutObject') : 'DeleteObject';
    const o = r.s3?.object ?? {};
    out.push({
      detailType: created ? 'Object Created' : 'Object Deleted',
      reason: (request && REASONS[request.operation]) ?? fallback,
      bucket,
      key,
      ...(o.size !== undefined ? { size: o.size } : {}),
      ...(o.eTag ? { etag: o.eTag } : {}),
      ...(o.versionId ? { versionId: o.versionId } : {}),
      sequencer: sequencer(),
      requestId: request?.requestId ?? r.responseElements?.['x-amz-request-id'] ?? randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase(),
      sourceIp: request?.sourceIp ?? r.requestParameters?.sourceIPAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
      time: r.eventTime ? new Date(r.eventTime) : new Date(),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rules

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function wildcardRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) source += (pattern[++i] as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (c === '*') source += '.*';
    else source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

/** One pattern value (a literal or a content filter) against one event value. */
function matchesValue(filter: unknown, value: unknown, present: boolean): boolean {
  if (!isPlainObject(filter)) return present && value === filter;
  if ('exists' in filter) return filter.exists === present;
  if (!present) return false;
  if (typeof filter.prefix === 'string') return typeof value === 'string' && value.startsWith(filter.prefix);
  if (typeof filter.suffix === 'string') return typeof value === 'string' && value.endsWith(filter.suffix);
  if (typeof filter.wildcard === 'string') return typeof value === 'string' && wildcardRegExp(filter.wildcard).test(value);
  if (typeof filter['equals-ignore-case'] === 'string') {
    return typeof value === 'string' && value.toLowerCase() === (filter['equals-ignore-case'] as string).toLowerCase();
  }
  if ('anything-but' in filter) {
    const but = filter['anything-but'];
    return !(Array.isArray(but) ? but : [but]).some((b) => matchesValue(b, value, true));
  }
  throw new Error(`unsupported content filter in event pattern: ${JSON.stringify(filter)}`);
}

/**
 * EventBridge's matching, for the part of its pattern language the rules here use: every field
 * of the pattern must match; an array lists the accepted values (literals or content filters:
 * prefix, suffix, wildcard, equals-ignore-case, anything-but, exists); an object descends.
 * Matching is case-sensitive and sees the event as delivered (keys URL-encoded).
 */
export function matchesEventPattern(pattern: Record<string, unknown>, event: unknown): boolean {
  for (const [field, expected] of Object.entries(pattern)) {
    // Not matched as a field named "$or" (which no event has): refused, like other unsupported parts.
    if (field === '$or') throw new Error(`unsupported "$or" in event pattern: ${JSON.stringify(expected)}`);
    const present = isPlainObject(event) && field in event;
    const value = present ? (event as Record<string, unknown>)[field] : undefined;
    if (Array.isArray(expected)) {
      // Values are matched on leaves only: to a filter an object there is no value at all, so
      // `exists: true` and `anything-but` do not match it and `exists: false` does.
      const leaf = present && !isPlainObject(value);
      const values = leaf && Array.isArray(value) ? value : [leaf ? value : undefined];
      if (!expected.some((f) => values.some((v) => matchesValue(f, v, leaf)))) return false;
    } else if (isPlainObject(expected)) {
      if (!matchesEventPattern(expected, value)) return false;
    } else {
      throw new Error(`event pattern field "${field}" must be an array or an object`);
    }
  }
  return true;
}

/** One EventBridge rule: a pattern and every target that declared it. */
export interface S3Route {
  ruleName: string;
  /** `s3PatternKey` of the pattern (equal keys share the rule). */
  patternKey: string;
  trigger: S3Pattern;
  /** The real bucket the pattern names. */
  bucketName: string;
  pattern: Record<string, unknown>;
  /** Function targets, invoked asynchronously. */
  functions: string[];
  /** Queue targets (logical names of queues/<name>.ts), which receive the event as a message. */
  queues: string[];
}

/** EventBridge's quota of targets per rule; infra's S3EventRoute refuses a pattern with more. */
export const MAX_TARGETS_PER_RULE = 5;

/**
 * Groups every S3 trigger of the functions and every queue subscription by pattern, one rule per
 * pattern as infra makes them. Patterns on buckets without a local name (none of the chosen
 * functions uses the bucket) are left out. A pattern with more targets than a rule takes is
 * refused, as infra's synth refuses it: run locally, it would pass here and fail at deploy.
 */
export function s3Routes(
  functions: { name: string; triggers: readonly { kind: string }[] }[],
  queues: Pick<QueueSpec, 'name' | 'subscribe'>[],
  bucketName: (logical: string) => string | undefined,
  stage = 'local',
): S3Route[] {
  const routes = new Map<string, S3Route>();
  const add = (t: S3Pattern, target: { fn: string } | { queue: string }) => {
    const real = bucketName(t.bucket);
    if (!real) return;
    const key = s3PatternKey(t);
    let route = routes.get(key);
    if (!route) {
      const trigger = { bucket: t.bucket, prefix: t.prefix, suffix: t.suffix, alsoUpperCaseSuffix: t.alsoUpperCaseSuffix === true, events: [...t.events].sort() };
      route = { ruleName: s3RuleName(stage, t), patternKey: key, trigger, bucketName: real, pattern: s3EventPattern(real, t), functions: [], queues: [] };
      routes.set(key, route);
    }
    if ('fn' in target) {
      if (!route.functions.includes(target.fn)) route.functions.push(target.fn);
    } else if (!route.queues.includes(target.queue)) route.queues.push(target.queue);
  };
  for (const f of functions) for (const t of f.triggers) if (t.kind === 's3') add(t as S3Trigger, { fn: f.name });
  for (const q of queues) for (const t of q.subscribe) add(t, { queue: q.name });
  for (const route of routes.values()) {
    const targets = [...route.functions, ...route.queues.map((q) => `queue ${q}`)];
    if (targets.length > MAX_TARGETS_PER_RULE) {
      throw new Error(
        `S3 pattern ${route.patternKey} has ${targets.length} targets (${targets.join(', ')}): more than the ${MAX_TARGETS_PER_RULE} targets an EventBridge rule allows, which infra refuses as well`,
      );
    }
  }
  return [...routes.values()].sort((a, b) => byCodePoint(a.ruleName, b.ruleName));
}

/** "bronze/*.csv in laminar-local-lake (Object Created)", for listings. */
export function describeRoute(route: S3Route): string {
  return `${describeS3KeyPattern(route.trigger)} in ${route.bucketName} (${route.trigger.events.join(', ')})`;
}
