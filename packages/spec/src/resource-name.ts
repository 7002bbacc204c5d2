/**
 * The names of deployed resources, built from a stage and a function's (or declaration's) name.
 * Infra names its resources with these, the local runner names its own (stage "local") the same
 * way, and the spec refuses a function name that some stage would push past a service's limit.
 */

/** Every resource name starts with this, so one account can host several projects side by side. */
export const PROJECT = 'laminar';

/**
 * Stages end up inside bucket, role and function names, which have tight length and charset
 * limits (S3: 63, IAM role and Lambda: 64): lower-case letters, digits and inner hyphens.
 */
export const STAGE_PATTERN = /^[a-z](?:[a-z0-9-]{0,10}[a-z0-9])?$/;
/** The longest stage STAGE_PATTERN takes: the one a function name must leave room for. */
export const MAX_STAGE_CHARS = 12;

/** `laminar-<stage>-<name>`, whatever its length (resourceName checks it). */
function fullResourceName(stage: string, name: string): string {
  return `${PROJECT}-${stage}-${name}`;
}

export function resourceName(stage: string, name: string, limit = 64): string {
  const full = fullResourceName(stage, name);
  if (full.length > limit) throw new Error(`resource name "${full}" is longer than ${limit} characters`);
  return full;
}

/**
 * A name derived from another one (a function's, a bucket's, a stream's): what follows
 * "laminar-<stage>-", what it names, and the limit its service sets. One description serves both
 * the name infra gives and the spec's check that every stage leaves it within the limit.
 */
export interface DerivedName {
  what: string;
  stem: string;
  limit: number;
}

const functionItself = (functionName: string): DerivedName => ({ what: 'Lambda function and IAM role', stem: functionName, limit: 64 });
/** What follows a function's name in the names of its own queues: a declared queue may not end so. */
export const DLQ_SUFFIX = '-dlq';
export const SCHEDULE_UNDELIVERED_SUFFIX = '-schedule-undelivered';

/** SQS names allow 80 characters. */
const dlq = (functionName: string): DerivedName => ({ what: 'on-failure queue', stem: `${functionName}${DLQ_SUFFIX}`, limit: 80 });
const scheduleRule = (functionName: string, index: number): DerivedName => ({
  what: `schedule ${index}'s EventBridge rule`,
  stem: `${functionName}-schedule-${index}`,
  limit: 64,
});
const scheduleUndelivered = (functionName: string): DerivedName => ({ what: 'undelivered-schedule queue', stem: `${functionName}${SCHEDULE_UNDELIVERED_SUFFIX}`, limit: 80 });
/** An S3 pattern's rule carries the bucket and a digest of the pattern (naming.ts: s3PatternDigest). */
export const s3Rule = (bucket: string, patternDigest: string): DerivedName => ({ what: "S3 pattern's EventBridge rule", stem: `s3-${bucket}-${patternDigest}`, limit: 64 });
/** What follows a delivery stream's name in the name of its Firehose role: a function's may not end so. */
export const FIREHOSE_ROLE_SUFFIX = '-firehose';
export const firehoseRole = (stream: string): DerivedName => ({ what: 'Firehose delivery role', stem: `${stream}${FIREHOSE_ROLE_SUFFIX}`, limit: 64 });
/** The stage's deploy role, `laminar-<stage>-deploy` (infra's bootstrap stack): no function may be named so. */
export const DEPLOY_ROLE_STEM = 'deploy';

/**
 * What follows `laminar-<stage>-<function>-` in the names of the alarms infra gives a function of
 * its own: every function the first three, the others with a DLQ, Kafka triggers, an async config
 * or schedule triggers (infra's NodeFunction names each from this list). A spec's metric alarm may
 * not be named like any of them, whether or not the function has it yet (metricAlarmSuffix).
 */
export const FUNCTION_ALARM_SUFFIXES = [
  'errors',
  'throttles',
  'duration-p95',
  'dlq-not-empty',
  'kafka-offset-lag',
  'kafka-idle',
  'async-events-dropped',
  'destination-failures',
  'schedule-undelivered-not-empty',
  'schedule-undelivered-arrivals',
] as const;
export type FunctionAlarmSuffix = (typeof FUNCTION_ALARM_SUFFIXES)[number];

/** And per schedule trigger `<i>`, its rule's alarm `laminar-<stage>-<function>-schedule-<i>-undelivered-lost`. */
export const SCHEDULE_LOST_ALARM_SUFFIX = /^schedule-\d+-undelivered-lost$/;

/** Whether `suffix` (after `laminar-<stage>-<function>-`) names one of the alarms infra gives a function of its own. */
export function isFunctionAlarmSuffix(suffix: string): boolean {
  return (FUNCTION_ALARM_SUFFIXES as readonly string[]).includes(suffix) || SCHEDULE_LOST_ALARM_SUFFIX.test(suffix);
}

/**
 * What follows `laminar-<stage>-<function>-` in the name of a spec's alarm on its metric:
 * "FilesRejected" → "files-rejected", as the stack's other alarms are written.
 */
export function metricAlarmSuffix(metric: string): string {
  return metric.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** A secret's name in Secrets Manager, `laminar/<stage>/<id>` (created outside the stack). */
export function secretsManagerSecretName(stage: string, id: string): string {
  return `${PROJECT}/${stage}/${id}`;
}

/** A secret's SSM parameter name, `/laminar/<stage>/<id>` (created outside the stack). */
export function ssmParameterName(stage: string, id: string): string {
  return `/${PROJECT}/${stage}/${id}`;
}

/** The derived name on `stage`; throws past its limit. */
export function derivedName(stage: string, derived: DerivedName): string {
  return resourceName(stage, derived.stem, derived.limit);
}

/** A function's on-failure destination. */
export function dlqName(stage: string, functionName: string): string {
  return derivedName(stage, dlq(functionName));
}

/** The EventBridge rule of a function's schedule trigger number `index`. */
export function scheduleRuleName(stage: string, functionName: string, index: number): string {
  return derivedName(stage, scheduleRule(functionName, index));
}

/** The queue that keeps schedule firings EventBridge could not deliver. */
export function scheduleUndeliveredQueueName(stage: string, functionName: string): string {
  return derivedName(stage, scheduleUndelivered(functionName));
}

/** The role Firehose assumes to deliver a declared stream. */
export function firehoseRoleName(stage: string, stream: string): string {
  return derivedName(stage, firehoseRole(stream));
}

/**
 * Why `logical` is refused, when the longest stage would push `derived` past its limit; undefined
 * when every stage fits. Checked when a spec is defined, not at synth: a name that fits "dev" but
 * not a longer stage would otherwise fail only in the pipeline deploying that stage.
 */
export function tooLongForSomeStage(logical: string, derived: DerivedName): string | undefined {
  const name = fullResourceName('x'.repeat(MAX_STAGE_CHARS), derived.stem);
  if (name.length <= derived.limit) return undefined;
  return `"${logical}" is ${name.length - derived.limit} character(s) too long: on a ${MAX_STAGE_CHARS}-character stage its ${derived.what} would be named "${name}" (${name.length} characters; AWS takes ${derived.limit})`;
}

/**
 * Why a function may not be called `functionName`, when its role (`laminar-<stage>-<name>`, as the
 * function) would be one infra gives another role: IAM role names are unique in an account, so
 * the apply would stop midway at creating it (the deploy role may not touch its own role at all).
 * Undefined when the name is free.
 */
export function roleNameClash(functionName: string): string | undefined {
  if (functionName === DEPLOY_ROLE_STEM) {
    return `"${functionName}" would give the function the role ${PROJECT}-<stage>-${DEPLOY_ROLE_STEM}, the name of the stage's deploy role (bootstrap stack): name the function otherwise`;
  }
  if (functionName.endsWith(FIREHOSE_ROLE_SUFFIX)) {
    const stream = functionName.slice(0, -FIREHOSE_ROLE_SUFFIX.length);
    return `"${functionName}" would give the function the role ${PROJECT}-<stage>-${functionName}, the name of the Firehose role of a delivery stream "${stream}": a function's name may not end in "${FIREHOSE_ROLE_SUFFIX}"`;
  }
  return undefined;
}

/**
 * Every name infra derives from a function's name that a long name can push past its limit: the
 * function and its role, its DLQ, and for functions with schedules each schedule's rule and the
 * undelivered-firings queue.
 */
export function functionDerivedNames(functionName: string, scheduleIndexes: readonly number[]): DerivedName[] {
  return [
    functionItself(functionName),
    dlq(functionName),
    ...scheduleIndexes.map((i) => scheduleRule(functionName, i)),
    ...(scheduleIndexes.length > 0 ? [scheduleUndelivered(functionName)] : []),
  ];
}
