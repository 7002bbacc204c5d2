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
export function fullResourceName(stage: string, name: string): string {
  return `${PROJECT}-${stage}-${name}`;
}

export function resourceName(stage: string, name: string, limit = 64): string {
  const full = fullResourceName(stage, name);
  if (full.length > limit) throw new Error(`resource name "${full}" is longer than ${limit} characters`);
  return full;
}

/** A function's on-failure destination (SQS names allow 80 characters). */
export function dlqName(stage: string, functionName: string): string {
  return resourceName(stage, `${functionName}-dlq`, 80);
}

/** The EventBridge rule of a function's schedule trigger number `index` (rule names: 64). */
export function scheduleRuleName(stage: string, functionName: string, index: number): string {
  return resourceName(stage, `${functionName}-schedule-${index}`);
}

/** The queue that keeps schedule firings EventBridge could not deliver (SQS names: 80). */
export function scheduleUndeliveredQueueName(stage: string, functionName: string): string {
  return resourceName(stage, `${functionName}-schedule-undelivered`, 80);
}

/** The stem of an S3 pattern's EventBridge rule name: the bucket, and a digest of the pattern. */
export function s3RuleStem(bucket: string, patternDigest: string): string {
  return `s3-${bucket}-${patternDigest}`;
}

/** The stem of the role Firehose assumes to deliver a declared stream. */
export function firehoseRoleStem(stream: string): string {
  return `${stream}-firehose`;
}

/** The role Firehose assumes to deliver a declared stream (IAM role names: 64). */
export function firehoseRoleName(stage: string, stream: string): string {
  return resourceName(stage, firehoseRoleStem(stream));
}

/**
 * Why `logical` is refused, when the longest stage would push `derive(stage)` past `limit`;
 * undefined when every stage fits. Checked when a spec is defined, not at synth: a name that fits
 * "dev" but not a longer stage would otherwise fail only in the pipeline deploying that stage.
 */
export function tooLongForSomeStage(logical: string, what: string, derive: (stage: string) => string, limit: number): string | undefined {
  const name = derive('x'.repeat(MAX_STAGE_CHARS));
  if (name.length <= limit) return undefined;
  return `"${logical}" is ${name.length - limit} character(s) too long: on a ${MAX_STAGE_CHARS}-character stage its ${what} would be named "${name}" (${name.length} characters; AWS takes ${limit})`;
}

/** A name derived from a function's, what it names, and the limit its service sets. */
export interface DerivedName {
  what: string;
  name: string;
  limit: number;
}

/**
 * Every name infra derives from a function's name that a long name can push past its limit,
 * built without the limit checks (the caller compares): the function and its role (64), its DLQ,
 * and for functions with schedules each schedule's rule and the undelivered-firings queue.
 */
export function functionDerivedNames(stage: string, functionName: string, scheduleIndexes: readonly number[]): DerivedName[] {
  const full = (name: string) => fullResourceName(stage, name);
  const names: DerivedName[] = [
    { what: 'Lambda function and IAM role', name: full(functionName), limit: 64 },
    { what: 'on-failure queue', name: full(`${functionName}-dlq`), limit: 80 },
  ];
  for (const i of scheduleIndexes) names.push({ what: `schedule ${i}'s EventBridge rule`, name: full(`${functionName}-schedule-${i}`), limit: 64 });
  if (scheduleIndexes.length > 0) names.push({ what: 'undelivered-schedule queue', name: full(`${functionName}-schedule-undelivered`), limit: 80 });
  return names;
}
