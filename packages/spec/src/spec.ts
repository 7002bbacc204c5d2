import { z } from 'zod';
import { byCodePoint } from './order.ts';
import {
  firehoseRole,
  functionDerivedNames,
  isFunctionAlarmSuffix,
  MAX_STAGE_CHARS,
  metricAlarmSuffix,
  PROJECT,
  roleNameClash,
  s3Rule,
  secretsManagerSecretName,
  ssmParameterName,
  tooLongForSomeStage,
} from './resource-name.ts';
import { bucketLogicalName, type EnvRef, envRef, keyPatternsOf, logicalName, type ResourceNamer, resourceRef, TABLE_KINDS, type TableKind, topicName } from './resources.ts';
import { cronFields, ratePeriodMs, ScheduleExpressionError, translateCron } from './schedule-expression.ts';
import { SCHEDULED_EVENT_FIELDS, scheduleInputProblems } from './schedule-input.ts';

/**
 * Env var names: Lambda's key pattern ([a-zA-Z]([a-zA-Z0-9_])+, so at least two characters), in
 * upper case. A secret's `name` is one too.
 */
const ENV_NAME = /^[A-Z][A-Z0-9_]+$/;
const ENV_NAME_RULE = 'an env var name is an upper-case letter, then upper-case letters, digits and "_": at least 2 characters (Lambda refuses a one-letter name)';
const envName = z.string().regex(ENV_NAME, ENV_NAME_RULE);
/** Variables by name: Zod's own message for a bad key ("Invalid key in record") says neither the rule nor why. */
function envRecord<V extends z.ZodType>(value: V) {
  return z.record(envName, value, { error: (issue) => (issue.code === 'invalid_key' ? ENV_NAME_RULE : undefined) });
}
/** Lambda reserves these; setting them is refused by the API. */
const RESERVED_ENV = new Set([
  '_HANDLER', '_X_AMZN_TRACE_ID', 'AWS_DEFAULT_REGION', 'AWS_REGION', 'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE', 'AWS_LAMBDA_LOG_GROUP_NAME', 'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API', 'LAMBDA_TASK_ROOT', 'LAMBDA_RUNTIME_DIR',
]);
/** Names that look like secret material must come in by reference (secrets), never as plain env. */
const SECRET_LIKE = /(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)/;

export const permission = z.strictObject({
  actions: z
    .array(z.string().regex(/^[a-z0-9-]+:[A-Za-z0-9]+$/, 'actions are "service:Action", no wildcards'))
    .min(1),
  resource: resourceRef,
});
export type Permission = z.infer<typeof permission>;

/**
 * An EventBridge schedule expression, checked by the parsers the local runner and the cost estimate
 * use: what they refuse (`rate(5 minute)`, `rate(0 minutes)`, a 5-field cron, a cron without `?`)
 * EventBridge refuses too, but only at PutRule, midway through an apply that synth let through.
 */
export const scheduleExpression = z.string().superRefine((expression, ctx) => {
  try {
    if (ratePeriodMs(expression) === null) translateCron(cronFields(expression) as string);
  } catch (err) {
    if (!(err instanceof ScheduleExpressionError)) throw err;
    ctx.addIssue({ code: 'custom', message: `EventBridge would refuse this schedule: ${err.message}` });
  }
});

/**
 * Objects landing in (or leaving) a bucket, delivered as S3 → EventBridge events. Every target
 * (function or queue) with the same pattern shares one EventBridge rule: that is the fan-out.
 */
/** The longest an S3 pattern's digest makes its rule name (naming.ts: s3PatternDigest). */
const S3_PATTERN_DIGEST_CHARS = 8;

export const s3Trigger = z.strictObject({
  kind: z.literal('s3'),
  // The pattern's EventBridge rule is named after the bucket (rule names: 64 characters).
  bucket: bucketLogicalName.superRefine((bucket, ctx) => {
    const message = tooLongForSomeStage(bucket, s3Rule(bucket, '0'.repeat(S3_PATTERN_DIGEST_CHARS)));
    if (message) ctx.addIssue({ code: 'custom', message });
  }),
  prefix: z.string().max(1024).default(''),
  suffix: z.string().max(64).default(''),
  /**
   * Match the suffix in upper case as well (`.csv` and `.CSV`): a file extension, which Windows
   * tools and old exporters write in capitals. Mixed case (`.Csv`) is not matched: each spelling is
   * one more wildcard in the rule (EventBridge's wildcard is case-sensitive), and EventBridge
   * refuses a rule whose wildcards make it "too complex" — two are far from that. The prefix stays
   * case-sensitive (it is a path).
   */
  alsoUpperCaseSuffix: z.boolean().default(false),
  events: z.array(z.enum(['Object Created', 'Object Deleted'])).min(1).default(['Object Created']),
}).superRefine((t, ctx) => {
  // Written in lower case, ASCII: the two spellings are then exactly it and its capitals (a mixed
  // ".Csv" would pair with ".CSV" and miss ".csv"; "ß" upper-cases to "SS").
  if (t.alsoUpperCaseSuffix && !/^[\x20-\x40\x5b-\x7e]*[a-z][\x20-\x40\x5b-\x7e]*$/.test(t.suffix)) {
    ctx.addIssue({ code: 'custom', path: ['alsoUpperCaseSuffix'], message: `the suffix "${t.suffix}" must be ASCII, in lower case, with a letter: its upper case is the other spelling` });
  }
});
export type S3Trigger = z.output<typeof s3Trigger>;

/**
 * What an S3 rule matches on: a trigger's or a queue subscription's pattern (`alsoUpperCaseSuffix`
 * absent is false, the spec's default). Equal patterns share one rule.
 */
export type S3Pattern = Pick<S3Trigger, 'bucket' | 'prefix' | 'suffix' | 'events'> & { alsoUpperCaseSuffix?: boolean | undefined };

/** The suffixes a trigger matches: its own, and its upper case when `alsoUpperCaseSuffix`. */
export function suffixSpellings(t: Pick<S3Pattern, 'suffix' | 'alsoUpperCaseSuffix'>): string[] {
  return t.alsoUpperCaseSuffix ? [t.suffix, t.suffix.toUpperCase()] : [t.suffix];
}

/** `bronze/*.csv`, or `bronze/*.csv (or .CSV)`: how listings name a pattern. */
export function describeS3KeyPattern(t: Pick<S3Pattern, 'prefix' | 'suffix' | 'alsoUpperCaseSuffix'>): string {
  return `${t.prefix}*${t.suffix}${t.alsoUpperCaseSuffix ? ` (or ${t.suffix.toUpperCase()})` : ''}`;
}

/**
 * A Lambda event source mapping on Kafka topics: Lambda's pollers read the topics as a consumer
 * group and invoke the function synchronously with batches (records grouped by topic-partition).
 */
export const kafkaTrigger = z.strictObject({
  kind: z.literal('kafka'),
  /** Logical topics (the ones producers name in env refs). */
  topics: z.array(topicName).min(1),
  cluster: z.discriminatedUnion('kind', [
    z.strictObject({
      /** Confluent Cloud or any broker outside AWS; bootstrap servers come from the stage setting. */
      kind: z.literal('self-managed'),
      /** Confluent Cloud API keys are SASL/PLAIN, which the mapping calls BASIC_AUTH. */
      auth: z.enum(['BASIC_AUTH', 'SASL_SCRAM_256_AUTH', 'SASL_SCRAM_512_AUTH']),
      /** Logical secret id ({"username","password"} JSON); infra maps it to `laminar/<stage>/<id>`. */
      secret: logicalName,
    }),
    z.strictObject({
      /** Amazon MSK: the cluster ARN comes from the stage setting mskClusterArn; IAM auth by the function's role. */
      kind: z.literal('msk'),
    }),
  ]),
  /** Records per invocation (Lambda's limit for Kafka is 10,000). */
  batchSize: z.number().int().min(1).max(10_000).default(100),
  /** Seconds to gather records before invoking with a partial batch. */
  batchingWindowS: z.number().int().min(0).max(300).default(0),
  startingPosition: z.enum(['LATEST', 'TRIM_HORIZON']).default('TRIM_HORIZON'),
  /**
   * Provisioned poller mode (billed per event poller unit-hour). Lambda honours `maxRetries` on a
   * Kafka mapping only in this mode; on demand, a failing batch is retried until its records expire
   * from the topic (or, unverified, up to the cap of 10 AWS documents with an on-failure
   * destination), blocking its partition meanwhile.
   */
  provisioned: z.strictObject({ minPollers: z.number().int().min(1).max(200), maxPollers: z.number().int().min(1).max(2000) }).optional(),
  /** Retries of a failed batch before its coordinates go to the on-failure destination (the function's DLQ). Needs, and is required by, `provisioned`. */
  maxRetries: z.number().int().min(0).max(10).optional(),
  /**
   * Records the function may stay behind a topic's newest (Lambda's OffsetLag) for 15 minutes
   * before its lag alarm fires: it cannot keep up, or a batch keeps failing and holds its partition.
   */
  maxOffsetLag: z.number().int().min(1).default(10_000),
  /**
   * Minutes the function may go without a single invocation before its idle alarm fires: the
   * longest the topics can go without a record in normal traffic. A mapping that cannot poll
   * (rotated credentials, wrong bootstrap servers, a disabled mapping) invokes nothing and reports
   * no OffsetLag, so this is the only alarm that sees it. In steps of 5 (the alarm's period), up to a
   * day (CloudWatch's longest evaluation range at that period). The alarm counts the function's
   * invocations from every trigger, and takes the shortest of its Kafka triggers' values.
   */
  maxIdleMinutes: z.number().int().min(5).max(1440).multipleOf(5).default(60),
}).superRefine((t, ctx) => {
  if (t.maxRetries !== undefined && !t.provisioned) {
    ctx.addIssue({ code: 'custom', path: ['maxRetries'], message: 'Kafka mappings honour maxRetries only in provisioned poller mode: add provisioned: { minPollers, maxPollers }' });
  }
  if (t.provisioned && t.maxRetries === undefined) {
    // Left out, AWS's own default applies (retries without end, or a cap that depends on the
    // destination), which the local runner could only guess at: say it.
    ctx.addIssue({ code: 'custom', path: ['maxRetries'], message: 'with provisioned pollers, say how many times a failed batch is retried before its coordinates go to the DLQ: maxRetries (0-10)' });
  }
  if (t.provisioned && t.provisioned.minPollers > t.provisioned.maxPollers) {
    ctx.addIssue({ code: 'custom', path: ['provisioned'], message: 'minPollers is above maxPollers' });
  }
  // Each topic's mapping is named by the topic with every character but letters, digits and "-"
  // made "-" (kafkaMappingId): two topics that differ only there would claim one name.
  const byId = new Map<string, string>();
  for (const topic of new Set(t.topics)) {
    const other = byId.get(kafkaMappingId(topic));
    if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['topics'], message: `topics "${other}" and "${topic}" differ only in "." and "-", which their mappings' names cannot tell apart: rename one` });
    byId.set(kafkaMappingId(topic), topic);
  }
});

/** A topic as infra names its event source mapping: letters, digits and "-" only. */
export function kafkaMappingId(topic: string): string {
  return topic.replace(/[^A-Za-z0-9-]/g, '-');
}
export type KafkaTrigger = z.output<typeof kafkaTrigger>;

/** Column types a Glue table declares (Hive DDL names). */
export const glueColumn = z.strictObject({
  name: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'Glue column names are lower-case snake_case'),
  type: z.enum(['string', 'int', 'bigint', 'double', 'boolean', 'timestamp', 'date']),
  comment: z.string().max(255).optional(),
});
export type GlueColumn = z.infer<typeof glueColumn>;

/**
 * A Kinesis Data Firehose delivery stream (Direct PUT → S3) a function writes to, with the Glue
 * table that reads its output. Declared on the function that produces into it.
 */
export const deliveryStreamDecl = z
  .strictObject({
    // Its delivery role is named after it: laminar-<stage>-<name>-firehose (IAM role names: 64).
    name: logicalName.superRefine((name, ctx) => {
      const message = tooLongForSomeStage(name, firehoseRole(name));
      if (message) ctx.addIssue({ code: 'custom', message });
    }),
    bucket: bucketLogicalName,
    /** Object prefix; may hold Firehose's `!{timestamp:…}` expressions (then errorOutputPrefix is required by AWS). */
    prefix: z.string().min(1).max(1024).regex(/\/$/, 'end the prefix with "/"'),
    /** Where records that could not be delivered go, with `!{firehose:error-output-type}`. */
    errorOutputPrefix: z.string().min(1).max(1024).regex(/\/$/, 'end the prefix with "/"'),
    buffering: z
      .strictObject({
        sizeMb: z.number().int().min(1).max(128).default(64),
        intervalS: z.number().int().min(0).max(900).default(300),
      })
      .default({ sizeMb: 64, intervalS: 300 }),
    table: z
      .strictObject({
        database: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
        name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
        columns: z.array(glueColumn).min(1),
        /** Hive-style partitions, taken from the prefix's `key=!{timestamp:…}/` parts. */
        partitionKeys: z.array(z.string().regex(/^[a-z_][a-z0-9_]*$/)).default([]),
      })
      .optional(),
  })
  .superRefine((d, ctx) => {
    if (!d.errorOutputPrefix.includes('!{firehose:error-output-type}')) {
      ctx.addIssue({ code: 'custom', path: ['errorOutputPrefix'], message: 'must contain !{firehose:error-output-type}, as AWS requires with expressions in the prefix' });
    }
    for (const key of d.table?.partitionKeys ?? []) {
      if (!d.prefix.includes(`/${key}=!{`) && !d.prefix.startsWith(`${key}=!{`)) {
        ctx.addIssue({ code: 'custom', path: ['table', 'partitionKeys'], message: `partition key "${key}" is not a "${key}=!{…}/" part of the prefix` });
      }
    }
    const names = new Set<string>();
    for (const c of d.table?.columns ?? []) {
      if (names.has(c.name) || d.table?.partitionKeys.includes(c.name)) ctx.addIssue({ code: 'custom', path: ['table', 'columns'], message: `column "${c.name}" is declared twice` });
      names.add(c.name);
    }
  });
export type DeliveryStreamDecl = z.output<typeof deliveryStreamDecl>;

export const trigger = z.discriminatedUnion('kind', [
  s3Trigger,
  kafkaTrigger,
  z.strictObject({ kind: z.literal('invoke') }),
  z
    .strictObject({
      kind: z.literal('schedule'),
      /** `rate(N unit)` (singular exactly when N is 1) or `cron(min hour dom month dow year)`, one of dom/dow `?`; UTC. */
      expression: scheduleExpression,
      /** The event the schedule delivers (EventBridge "Scheduled Event" detail). */
      input: z.record(z.string(), z.unknown()).optional(),
      /**
       * Input keys filled from the firing's own event (its `id`, its `time`), through an input
       * transformer: a constant input alone carries nothing of the firing, so a Lambda retry or a
       * DLQ replay of it could not tell which run it repeats, nor when that run was due.
       */
      inputFromEvent: z.record(z.string(), z.enum(SCHEDULED_EVENT_FIELDS)).optional(),
    })
    .superRefine((t, ctx) => {
      for (const p of scheduleInputProblems(t)) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
    }),
]);
export type Trigger = z.infer<typeof trigger>;

export const asyncConfig = z.strictObject({
  maxRetries: z.number().int().min(0).max(2),
  maxEventAgeS: z.number().int().min(60).max(21600),
  /** Events that still fail after the retries (or expire) go to the function's own encrypted DLQ. */
  onFailure: z.enum(['dlq']).optional(),
  /** Optionally, successful invocation records go to a declared queue. */
  onSuccess: z.strictObject({ queue: logicalName }).optional(),
});

/** The retention periods CloudWatch Logs accepts for a log group, in days. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
/** Lambda's limit on a function's environment variables, names and values together. */
const MAX_ENV_BYTES = 4096;

export const secretRef = z.strictObject({
  /** The environment variable that receives the secret's ARN / parameter name (never its value). */
  name: envName,
  from: z.enum(['secretsmanager', 'ssm']),
  /** Logical id of the secret; infra maps it to `laminar/<stage>/<id>`. Read access is granted from this entry. */
  id: logicalName,
});

export type SecretRef = z.infer<typeof secretRef>;

export const tableDecl = z.strictObject({
  name: logicalName,
  kind: z.enum(Object.keys(TABLE_KINDS) as [TableKind, ...TableKind[]]),
});

/** The longest function name functionSpec takes. */
const MAX_FUNCTION_NAME_CHARS = 41;
/**
 * CloudWatch's limit on an alarm's description (PutMetricAlarm AlarmDescription: 1,024 characters),
 * as the provider checks it: in bytes of UTF-8, never fewer than the characters.
 */
export const ALARM_DESCRIPTION_BYTES = 1024;
/**
 * What is left of it for a metric alarm's own words after infra's `laminar-<stage>-<function>: `
 * on the longest stage and function name: refused here rather than cut short in the alarm.
 */
const METRIC_ALARM_DESCRIPTION_BYTES = ALARM_DESCRIPTION_BYTES - `${PROJECT}-${'x'.repeat(MAX_STAGE_CHARS)}-${'x'.repeat(MAX_FUNCTION_NAME_CHARS)}: `.length;

/**
 * An alarm on one of the function's own metrics (EMF, as the runtime writes them: namespace
 * POWERTOOLS_METRICS_NAMESPACE, dimension `service` = POWERTOOLS_SERVICE_NAME): the sum over five
 * minutes above `above`. For outcomes that succeed yet want a human (a file quarantined whole).
 */
export const metricAlarm = z.strictObject({
  metric: z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,99}$/, 'a metric name the function emits (letters and digits)'),
  above: z.number().min(0).default(0),
  description: z
    .string()
    .min(1)
    .refine((d) => Buffer.byteLength(d) <= METRIC_ALARM_DESCRIPTION_BYTES, {
      error: `CloudWatch takes an alarm description of at most ${ALARM_DESCRIPTION_BYTES} characters, and infra writes "${PROJECT}-<stage>-<function>: " before this one: at most ${METRIC_ALARM_DESCRIPTION_BYTES} bytes (UTF-8) here`,
    }),
});

export type MetricAlarm = z.output<typeof metricAlarm>;

/** Lambda's ephemeral storage (/tmp) when a spec does not set it: also the part that costs nothing. */
export const DEFAULT_EPHEMERAL_STORAGE_MB = 512;

/** Lambda's Node.js runtimes this project builds for, with the Node major each runs. */
export const RUNTIME_NODE_MAJOR = { 'nodejs20.x': 20, 'nodejs22.x': 22 } as const;
export type LambdaRuntime = keyof typeof RUNTIME_NODE_MAJOR;
export const lambdaRuntime = z.enum(Object.keys(RUNTIME_NODE_MAJOR) as [LambdaRuntime, ...LambdaRuntime[]]);

/**
 * Objects a function writes that are worth nothing after a while (pdf-manifest's manifests, whose
 * links die with their signatures): infra expires them — the current version after `days`, an
 * overwritten or expired one a day later — instead of keeping them, and billing them, for good.
 */
export const expiringOutput = z.strictObject({
  bucket: bucketLogicalName,
  prefix: z.string().min(1).max(1024).regex(/\/$/, 'end the prefix with "/"'),
  days: z.number().int().min(1).max(3650),
});

export type ExpiringOutput = z.output<typeof expiringOutput>;

export const functionSpec = z
  .strictObject({
    name: z.string().regex(new RegExp(`^[a-z][a-z0-9-]{1,${MAX_FUNCTION_NAME_CHARS - 1}}$`), 'function names are lower-case kebab-case'),
    description: z.string().max(256, "Lambda takes a description of at most 256 characters").default(''),
    /** Entry module, relative to the function's folder. */
    entry: z.string().default('./src/handler.ts'),
    /** Exported handler name inside the entry module. */
    handler: z.string().regex(/^[A-Za-z_$][\w$]*$/).default('handler'),
    /**
     * Lambda's runtime. nodejs20.x was deprecated on 2026-04-30, and Lambda has since stopped
     * creating and then updating functions on it: nodejs22.x (supported to 2027-04-30) unless a
     * function says otherwise (none here does; infra warns at synth about one on nodejs20.x). A
     * layer with a native addon must be built for the same Node (the layer check). The bundler
     * targets its Node, the local runner runs the function on it (@laminar/lambda-node).
     */
    runtime: lambdaRuntime.default('nodejs22.x'),
    architecture: z.enum(['arm64', 'x86_64']).default('arm64'),
    memoryMb: z.number().int().min(128).max(10240),
    timeoutS: z.number().int().min(1).max(900),
    /**
     * Size of the function's /tmp (Lambda's ephemeral storage), MB. 512 MB comes free; more is
     * billed per GB-second of billed duration, for the part above 512.
     */
    ephemeralStorageMb: z.number().int().min(512).max(10240).default(DEFAULT_EPHEMERAL_STORAGE_MB),
    /** Plain configuration only. Secrets go through `secrets`. */
    env: envRecord(z.union([z.string(), envRef])).default({}),
    secrets: z.array(secretRef).default([]),
    layers: z.array(logicalName).max(5, 'Lambda takes at most 5 layers').default([]),
    /** DynamoDB tables this function uses, with their kind (key schema and TTL come from the kind). */
    tables: z.array(tableDecl).default([]),
    /** Firehose delivery streams this function produces into (created with it). */
    deliveryStreams: z.array(deliveryStreamDecl).default([]),
    /** Modules provided at run time by a layer or the Lambda runtime: kept out of the bundle. */
    external: z.array(z.string()).default([]),
    triggers: z.array(trigger).min(1),
    permissions: z.array(permission).default([]),
    expiringOutputs: z.array(expiringOutput).default([]),
    async: asyncConfig.optional(),
    /**
     * The EMF metrics the function emits (Powertools `metrics.addMetric` names): infra charts them
     * on the stage dashboard, the cost estimate counts each as a custom metric, and infra's tests
     * compare the list with the function's code in both directions.
     */
    metrics: z.array(z.string().regex(/^[A-Z][A-Za-z0-9]*$/, 'a metric name in PascalCase')).default([]),
    metricAlarms: z.array(metricAlarm).default([]),
    /**
     * How the local runner differs from AWS: env overrides (e.g. PLAINTEXT to the embedded broker,
     * feed URLs on the local fixture server). "{fixtures}" becomes the base URL under which the
     * runner serves this function's `fixtures/http/` folder.
     */
    local: z.strictObject({ env: envRecord(z.string()).default({}) }).default({ env: {} }),
    logRetentionDays: z
      .number()
      .int()
      .refine((d) => LOG_RETENTION_DAYS.includes(d), { error: `CloudWatch Logs keeps a log group ${LOG_RETENTION_DAYS.join(', ')} days, nothing else` })
      .default(30),
  })
  .superRefine((spec, ctx) => {
    const clash = roleNameClash(spec.name);
    if (clash) ctx.addIssue({ code: 'custom', path: ['name'], message: clash });
    const scheduleIndexes = spec.triggers.flatMap((t, i) => (t.kind === 'schedule' ? [i] : []));
    for (const derived of functionDerivedNames(spec.name, scheduleIndexes)) {
      const message = tooLongForSomeStage(spec.name, derived);
      if (message) ctx.addIssue({ code: 'custom', path: ['name'], message });
    }
    const declared = new Set(spec.tables.map((t) => t.name));
    const usedTables = [
      ...spec.permissions.flatMap((p) => ('table' in p.resource ? [p.resource.table] : [])),
      ...Object.values(spec.env).flatMap((v) => (typeof v !== 'string' && 'table' in v.ref ? [v.ref.table] : [])),
    ];
    for (const t of usedTables) {
      if (!declared.has(t)) ctx.addIssue({ code: 'custom', path: ['tables'], message: `table "${t}" is used but not declared in tables` });
    }
    const streams = new Set(spec.deliveryStreams.map((d) => d.name));
    const usedStreams = [
      ...spec.permissions.flatMap((p) => ('deliveryStream' in p.resource ? [p.resource.deliveryStream] : [])),
      ...Object.values(spec.env).flatMap((v) => (typeof v !== 'string' && 'deliveryStream' in v.ref ? [v.ref.deliveryStream] : [])),
    ];
    for (const d of usedStreams) {
      if (!streams.has(d)) ctx.addIssue({ code: 'custom', path: ['deliveryStreams'], message: `delivery stream "${d}" is used but not declared in deliveryStreams` });
    }
    for (const [i, o] of spec.expiringOutputs.entries()) {
      // Only what this function may write there: a rule over others' objects would delete them.
      const writes = spec.permissions.some(
        (p) =>
          'bucket' in p.resource &&
          p.resource.bucket === o.bucket &&
          p.actions.includes('s3:PutObject') &&
          keyPatternsOf(p.resource).some((pattern) => pattern.endsWith('*') && o.prefix.startsWith(pattern.slice(0, -1))),
      );
      if (!writes) {
        ctx.addIssue({ code: 'custom', path: ['expiringOutputs', i], message: `the function has no s3:PutObject grant on ${o.bucket}/${o.prefix}*: it expires only objects it writes` });
      }
    }
    const kafkaTriggers = spec.triggers.filter((t) => t.kind === 'kafka');
    if (kafkaTriggers.length > 0 && spec.async) {
      ctx.addIssue({ code: 'custom', path: ['async'], message: 'a Kafka event source mapping invokes synchronously: its retries and DLQ are set on the trigger, not in async' });
    }
    if (spec.metricAlarms.length > 0) {
      for (const name of ['POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME']) {
        if (typeof spec.env[name] !== 'string') {
          ctx.addIssue({ code: 'custom', path: ['metricAlarms'], message: `metric alarms need env.${name} as a plain string: it names the metrics' namespace and service` });
        }
      }
    }
    const alarmed = spec.metricAlarms.map((a) => a.metric);
    for (const [i, m] of alarmed.entries()) {
      if (alarmed.indexOf(m) !== i) ctx.addIssue({ code: 'custom', path: ['metricAlarms', i], message: `metric ${m} has two alarms` });
      if (!spec.metrics.includes(m)) ctx.addIssue({ code: 'custom', path: ['metricAlarms', i], message: `metric ${m} is not among the metrics the function emits (metrics)` });
      // Infra names the alarm laminar-<stage>-<function>-<metric in kebab-case>, and PutMetricAlarm
      // creates or replaces by name: a name the function's own alarms (or another metric's) have
      // would leave one of the two alarms silently overwritten by the other.
      const suffix = metricAlarmSuffix(m);
      const alarmName = `${PROJECT}-<stage>-${spec.name}-${suffix}`;
      if (isFunctionAlarmSuffix(suffix)) {
        ctx.addIssue({
          code: 'custom',
          path: ['metricAlarms', i, 'metric'],
          message: `the alarm on metric ${m} would be named ${alarmName}, as infra names the function's own -${suffix} alarm: one would replace the other. Alarm on a metric named otherwise`,
        });
      }
      const same = alarmed.findIndex((other) => other !== m && metricAlarmSuffix(other) === suffix);
      if (same !== -1 && same < i) {
        ctx.addIssue({ code: 'custom', path: ['metricAlarms', i, 'metric'], message: `the alarms on metrics ${alarmed[same]} and ${m} would both be named ${alarmName}: one would replace the other` });
      }
    }
    for (const problem of metricsOffProblems(spec.env, spec.metrics.length > 0 || spec.metricAlarms.length > 0)) ctx.addIssue({ code: 'custom', ...problem });
    for (const [i, m] of spec.metrics.entries()) {
      if (spec.metrics.indexOf(m) !== i) ctx.addIssue({ code: 'custom', path: ['metrics', i], message: `metric ${m} is listed twice` });
    }
    for (const s of spec.secrets) {
      if (s.name in spec.env) ctx.addIssue({ code: 'custom', path: ['secrets'], message: `${s.name} is both a secret reference and a plain env var` });
      // A secret's name becomes an env var as well (its ARN or parameter name).
      if (RESERVED_ENV.has(s.name) || s.name in PLATFORM_ENV || s.name === STAGE_ENV) {
        ctx.addIssue({ code: 'custom', path: ['secrets'], message: `${s.name} is reserved (by Lambda, or set by the platform): name the secret's variable otherwise` });
      }
    }
    // Lambda refuses a function whose variables pass 4 KB together, measured as their JSON: the
    // spec's, and what infra adds, on the stage and resource names that make them longest.
    const envBytes = Buffer.byteLength(JSON.stringify(worstCaseEnvironment(spec)));
    if (envBytes > MAX_ENV_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path: ['env'],
        message: `the environment can take ${envBytes} bytes, and Lambda takes at most ${MAX_ENV_BYTES} (the variables as JSON, counting what infra adds: NODE_OPTIONS, ${STAGE_ENV}, each secret's ARN or parameter name, resource names on a ${MAX_STAGE_CHARS}-character stage): shorten env or secrets`,
      });
    }
    for (const name of Object.keys(spec.env)) {
      if (RESERVED_ENV.has(name)) {
        ctx.addIssue({ code: 'custom', path: ['env', name], message: `${name} is reserved by Lambda` });
      }
      if (name === STAGE_ENV) {
        ctx.addIssue({ code: 'custom', path: ['env', name], message: `${name} is set by the platform (the stage, every metric's stage dimension): infra would replace this value` });
      }
      if (SECRET_LIKE.test(name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['env', name],
          message: `${name} looks like secret material: declare it under secrets (by reference), not env`,
        });
      }
    }
  });

export type FunctionSpecInput = z.input<typeof functionSpec>;
export type FunctionSpec = z.output<typeof functionSpec>;

export class SpecError extends Error {
  override name = 'SpecError';
}

/** Validates a spec at definition time, so a bad spec fails the build, synth and runner alike. */
export function defineFunction(input: FunctionSpecInput): FunctionSpec {
  const parsed = functionSpec.safeParse(input);
  if (!parsed.success) {
    const where = typeof input?.name === 'string' ? input.name : '<unnamed>';
    const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(spec)'}: ${i.message}`);
    throw new SpecError(`invalid spec for function ${where}:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** Every logical bucket a spec touches (permissions and env refs). */
export function bucketsOf(spec: FunctionSpec): string[] {
  const names = new Set<string>();
  for (const p of spec.permissions) if ('bucket' in p.resource) names.add(p.resource.bucket);
  for (const v of Object.values(spec.env)) if (typeof v !== 'string' && 'bucket' in v.ref) names.add(v.ref.bucket);
  for (const t of spec.triggers) if (t.kind === 's3') names.add(t.bucket);
  for (const d of spec.deliveryStreams) names.add(d.bucket);
  return [...names].sort();
}

/** The S3 triggers of a spec. */
export function s3TriggersOf(spec: FunctionSpec): S3Trigger[] {
  return spec.triggers.filter((t): t is S3Trigger => t.kind === 's3');
}

/** A stable key for an S3 event pattern: targets with equal keys share one EventBridge rule. */
export function s3PatternKey(t: S3Pattern): string {
  // The flag joins the key only when set: other patterns keep the keys (and so the rule names)
  // they had before it existed.
  return JSON.stringify([t.bucket, t.prefix, t.suffix, [...t.events].sort(), ...(t.alsoUpperCaseSuffix ? ['also upper-case suffix'] : [])]);
}

/** Every Kafka topic a spec names: in its env (produced to) and in its Kafka triggers (consumed). */
export function topicsOf(spec: FunctionSpec): string[] {
  const names = new Set<string>();
  for (const v of Object.values(spec.env)) if (typeof v !== 'string' && 'topic' in v.ref) names.add(v.ref.topic);
  for (const t of kafkaTriggersOf(spec)) for (const topic of t.topics) names.add(topic);
  return [...names].sort();
}

/** The Kafka event source mappings of a spec. */
export function kafkaTriggersOf(spec: FunctionSpec): KafkaTrigger[] {
  return spec.triggers.filter((t): t is KafkaTrigger => t.kind === 'kafka');
}

/**
 * Where a function's failed events go: its DLQ, for async invocations (`async.onFailure`) and for
 * event source mappings alike.
 */
export function hasDlq(spec: FunctionSpec): boolean {
  return spec.async?.onFailure === 'dlq' || kafkaTriggersOf(spec).length > 0;
}

/** True when any permission can write objects into the bucket (drives versioning in infra). */
export function writesTo(spec: FunctionSpec, bucket: string): boolean {
  return spec.permissions.some(
    (p) => 'bucket' in p.resource && p.resource.bucket === bucket && p.actions.some((a) => /^s3:(Put|Delete|Restore)/.test(a)),
  );
}

/**
 * Environment every Laminar function gets, wherever it runs: bundles ship a source map, so stack
 * traces point at TypeScript lines.
 */
export const PLATFORM_ENV = { NODE_OPTIONS: '--enable-source-maps' } as const;

/** The variable infra sets to the stage on every function (the runtime's `stage` metric dimension). */
export const STAGE_ENV = 'LAMINAR_STAGE';

/** The longest bucket name S3 takes: `laminar-<stage>-<logical>`, with a LAMINAR_BUCKET_SUFFIX after it at most this long. */
const MAX_BUCKET_NAME_CHARS = 63;
/**
 * A stage setting is given at plan time (a Terraform variable), so its length is unknown to a
 * spec: counted at this many characters, which three MSK brokers' `host:port` fit in with the
 * longest cluster name (b-1.<64-character name>.<id>.c2.kafka.<region>.amazonaws.com:9096, ~113
 * characters each).
 */
const SETTING_ALLOWANCE_CHARS = 352;
/** The longest partition ("aws-us-gov") and region ("us-isof-south-1") a secret's ARN can name. */
const MAX_PARTITION_CHARS = 10;
const MAX_REGION_CHARS = 15;

/** What a function's environment is built from (a spec's env and secrets). */
export interface EnvironmentSource {
  env: Readonly<Record<string, string | EnvRef>>;
  secrets?: readonly Pick<SecretRef, 'name' | 'from' | 'id'>[];
}

/**
 * The variables infra gives a function, each at its longest: the spec's own and the platform's
 * (resolveEnv), each secret's ARN (Secrets Manager, with its 6-character random suffix) or parameter
 * name (SSM), and the stage, with the stage and resource names as on the longest stage (12
 * characters). The spec's 4 KB check measures its JSON, as Lambda does (its refusal quotes the
 * "String measured": the variables as JSON); infra's tests check that it names what infra sets.
 */
export function worstCaseEnvironment(spec: EnvironmentSource): Record<string, string> {
  const stage = 'x'.repeat(MAX_STAGE_CHARS);
  const named = (logical: string) => `${PROJECT}-${stage}-${logical}`;
  const vars = resolveEnv(spec, {
    bucket: () => 'x'.repeat(MAX_BUCKET_NAME_CHARS),
    table: named,
    // Infra prefixes topics with the stage (one cluster can serve several).
    topic: (logical) => `${stage}.${logical}`,
    deliveryStream: named,
    setting: () => 'x'.repeat(SETTING_ALLOWANCE_CHARS),
  });
  for (const s of spec.secrets ?? []) {
    vars[s.name] =
      s.from === 'secretsmanager'
        ? `arn:${'x'.repeat(MAX_PARTITION_CHARS)}:secretsmanager:${'x'.repeat(MAX_REGION_CHARS)}:${'0'.repeat(12)}:secret:${secretsManagerSecretName(stage, s.id)}-xxxxxx`
        : ssmParameterName(stage, s.id);
  }
  vars[STAGE_ENV] = stage;
  return vars;
}

/** How Powertools (2.35, getBooleanFromEnv with extended parsing) reads a boolean variable: anything else, it throws on. */
const POWERTOOLS_TRUE = ['1', 'y', 'yes', 't', 'true', 'on'];
const POWERTOOLS_FALSE = ['0', 'n', 'no', 'f', 'false', 'off'];
function powertoolsBoolean(value: string | EnvRef): boolean | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim().toLowerCase();
  return POWERTOOLS_TRUE.includes(v) ? true : POWERTOOLS_FALSE.includes(v) ? false : undefined;
}

/**
 * Why the environment would keep the function's Powertools Metrics from working: a
 * POWERTOOLS_METRICS_DISABLED Powertools cannot read (the Metrics constructor throws, and every
 * function builds one at init), or, for a function with metrics, metrics turned off — by
 * POWERTOOLS_METRICS_DISABLED, or by POWERTOOLS_DEV when that is not set (Powertools 2.35's
 * Metrics.setDisabled). Turned off, Metrics writes no EMF at all: the dashboard stays empty and the
 * metric alarms never fire, silently.
 */
function metricsOffProblems(env: EnvironmentSource['env'], hasMetrics: boolean): { path: string[]; message: string }[] {
  const disabled = env.POWERTOOLS_METRICS_DISABLED;
  const silent = 'the function would emit none of its metrics, and its metric alarms would never fire';
  if (disabled !== undefined) {
    const off = powertoolsBoolean(disabled);
    if (off === undefined) {
      return [{ path: ['env', 'POWERTOOLS_METRICS_DISABLED'], message: `Powertools Metrics throws at init on a value it cannot read as a boolean: write one of ${[...POWERTOOLS_TRUE, ...POWERTOOLS_FALSE].join(', ')}` }];
    }
    return off && hasMetrics ? [{ path: ['env', 'POWERTOOLS_METRICS_DISABLED'], message: `POWERTOOLS_METRICS_DISABLED turns Powertools Metrics off: ${silent}` }] : [];
  }
  const dev = env.POWERTOOLS_DEV;
  if (dev !== undefined && powertoolsBoolean(dev) === true && hasMetrics) {
    return [{ path: ['env', 'POWERTOOLS_DEV'], message: `POWERTOOLS_DEV turns Powertools Metrics off (unless POWERTOOLS_METRICS_DISABLED is set to a false value): ${silent}` }];
  }
  return [];
}

/**
 * The function's environment: plain strings as they are, references through the namer (a stage's
 * in infra, the emulators' in the runner). Secret references are not resolved here: infra sets
 * their ARNs, the runner leaves them unset (local mode needs no secrets).
 */
export function resolveEnv(spec: Pick<EnvironmentSource, 'env'>, namer: ResourceNamer): Record<string, string> {
  const out: Record<string, string> = { ...PLATFORM_ENV };
  for (const [k, v] of Object.entries(spec.env).sort(([a], [b]) => byCodePoint(a, b))) {
    if (typeof v === 'string') out[k] = v;
    else if ('bucket' in v.ref) out[k] = namer.bucket(v.ref.bucket);
    else if ('table' in v.ref) out[k] = namer.table(v.ref.table);
    else if ('topic' in v.ref) out[k] = namer.topic(v.ref.topic);
    else if ('deliveryStream' in v.ref) out[k] = namer.deliveryStream(v.ref.deliveryStream);
    else out[k] = namer.setting(v.ref.setting);
  }
  // A spec's own node flags come after the platform's, not in their place: replacing them would
  // silently turn off source-mapped stack traces, and after them the spec's win where both set one.
  if ('NODE_OPTIONS' in spec.env) out.NODE_OPTIONS = `${PLATFORM_ENV.NODE_OPTIONS} ${out.NODE_OPTIONS}`;
  return out;
}
