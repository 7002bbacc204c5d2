import { describe, expect, it } from 'vitest';
import {
  bucketsOf,
  defineFunction,
  defineLayer,
  defineQueue,
  FUNCTION_ALARM_SUFFIXES,
  hasDlq,
  kafkaGroupStem,
  kafkaMappings,
  kafkaTriggersOf,
  keyPatternsOf,
  layersFor,
  metricAlarmSuffix,
  resolveEnv,
  s3PatternKey,
  SpecError,
  suffixSpellings,
  topicsOf,
  worstCaseEnvironment,
  writesTo,
} from '../../src/index.ts';

const base = {
  name: 'demo',
  memoryMb: 256,
  timeoutS: 30,
  triggers: [{ kind: 'invoke' as const }],
};

describe('defineFunction', () => {
  it('applies defaults', () => {
    const spec = defineFunction(base);
    expect(spec).toMatchObject({ entry: './src/handler.ts', handler: 'handler', architecture: 'arm64', runtime: 'nodejs22.x', env: {}, layers: [] });
    // Lambda's /tmp comes at 512 MB, free.
    expect(spec.ephemeralStorageMb).toBe(512);
  });

  it('takes ephemeral storage (/tmp) from 512 to 10,240 MB in whole MB, nothing outside', () => {
    expect(defineFunction({ ...base, ephemeralStorageMb: 512 }).ephemeralStorageMb).toBe(512);
    expect(defineFunction({ ...base, ephemeralStorageMb: 10240 }).ephemeralStorageMb).toBe(10240);
    expect(() => defineFunction({ ...base, ephemeralStorageMb: 511 })).toThrow('ephemeralStorageMb: Too small: expected number to be >=512');
    expect(() => defineFunction({ ...base, ephemeralStorageMb: 10241 })).toThrow('ephemeralStorageMb: Too big: expected number to be <=10240');
    expect(() => defineFunction({ ...base, ephemeralStorageMb: 1024.5 })).toThrow(/ephemeralStorageMb: .*expected int/);
  });

  it('expires only outputs the function may write: a rule over others\' objects would delete them', () => {
    const writes = { actions: ['s3:PutObject'], resource: { bucket: 'docs', prefix: 'out/*' } };
    const spec = defineFunction({ ...base, permissions: [writes], expiringOutputs: [{ bucket: 'docs', prefix: 'out/manifests/', days: 8 }] });
    expect(spec.expiringOutputs).toEqual([{ bucket: 'docs', prefix: 'out/manifests/', days: 8 }]);
    expect(defineFunction(base).expiringOutputs).toEqual([]);
    expect(() => defineFunction({ ...base, permissions: [writes], expiringOutputs: [{ bucket: 'docs', prefix: 'in/', days: 8 }] })).toThrow(
      /expiringOutputs\.0: the function has no s3:PutObject grant on docs\/in\/\*/,
    );
    const reads = { actions: ['s3:GetObject'], resource: { bucket: 'docs', prefix: '*' } };
    expect(() => defineFunction({ ...base, permissions: [reads], expiringOutputs: [{ bucket: 'docs', prefix: 'out/', days: 8 }] })).toThrow(/no s3:PutObject grant/);
    expect(() => defineFunction({ ...base, permissions: [writes], expiringOutputs: [{ bucket: 'docs', prefix: 'out', days: 8 }] })).toThrow(/end the prefix with "\/"/);
    expect(() => defineFunction({ ...base, permissions: [writes], expiringOutputs: [{ bucket: 'docs', prefix: 'out/', days: 0 }] })).toThrow(/days/);
  });

  it('refuses secret-looking env vars and names the variable', () => {
    expect(() => defineFunction({ ...base, env: { KAFKA_API_SECRET: 'x' } })).toThrow(/env\.KAFKA_API_SECRET: .*secret material/);
  });

  it('takes alarms on the function\'s own metrics only where the env names their namespace and service', () => {
    const env = { POWERTOOLS_METRICS_NAMESPACE: 'Laminar', POWERTOOLS_SERVICE_NAME: 'demo' };
    const metrics = ['FilesRejected', 'RowsRead'];
    const spec = defineFunction({ ...base, env, metrics, metricAlarms: [{ metric: 'FilesRejected', description: 'a file was quarantined whole' }] });
    expect(spec.metricAlarms).toEqual([{ metric: 'FilesRejected', above: 0, description: 'a file was quarantined whole' }]);
    expect(() => defineFunction({ ...base, metrics, metricAlarms: [{ metric: 'FilesRejected', description: 'x' }] })).toThrow(/metricAlarms: metric alarms need env\.POWERTOOLS_METRICS_NAMESPACE/);
    // An alarm on a metric the function does not say it emits would watch nothing.
    expect(() => defineFunction({ ...base, env, metrics, metricAlarms: [{ metric: 'RowsValid', description: 'x' }] })).toThrow(/metric RowsValid is not among the metrics the function emits/);
    expect(() => defineFunction({ ...base, env, metrics: ['RowsRead', 'RowsRead'] })).toThrow(/metric RowsRead is listed twice/);
    expect(() => defineFunction({ ...base, env, metrics: ['rows read'] })).toThrow(/a metric name in PascalCase/);
    expect(() =>
      defineFunction({
        ...base,
        env,
        metrics,
        metricAlarms: [
          { metric: 'FilesRejected', description: 'x' },
          { metric: 'FilesRejected', above: 3, description: 'y' },
        ],
      }),
    ).toThrow(/metric FilesRejected has two alarms/);
    expect(() => defineFunction({ ...base, env, metricAlarms: [{ metric: 'Files Rejected', description: 'x' }] })).toThrow(/letters and digits/);
  });

  it('refuses Lambda-reserved env vars', () => {
    expect(() => defineFunction({ ...base, env: { AWS_REGION: 'eu-west-1' } })).toThrow(SpecError);
    // A secret's name is an env var too; NODE_OPTIONS would replace the platform's flags.
    for (const name of ['AWS_REGION', 'NODE_OPTIONS']) {
      expect(() => defineFunction({ ...base, secrets: [{ name, from: 'ssm', id: 'api-key' }] })).toThrow(new RegExp(`${name} is reserved`));
    }
  });

  it('refuses what Lambda or CloudWatch would refuse at apply: env past 4 KB, a long description, six layers, a retention CloudWatch has not', () => {
    // As Lambda measures it, the variables' JSON, with what infra adds:
    // {"NODE_OPTIONS":"--enable-source-maps","BIG":"…","LAMINAR_STAGE":"<12 characters>"} is 79 bytes and the value.
    expect(defineFunction({ ...base, env: { BIG: 'x'.repeat(4017) } }).env.BIG).toHaveLength(4017);
    expect(() => defineFunction({ ...base, env: { BIG: 'x'.repeat(4018) } })).toThrow(/env: the environment can take 4097 bytes, and Lambda takes at most 4096/);
    expect(() => defineFunction({ ...base, description: 'd'.repeat(257) })).toThrow(/at most 256 characters/);
    expect(() => defineFunction({ ...base, layers: ['a1', 'b1', 'c1', 'd1', 'e1', 'f1'] })).toThrow(/at most 5 layers/);
    expect(() => defineFunction({ ...base, logRetentionDays: 10 })).toThrow(/logRetentionDays: CloudWatch Logs keeps a log group 1, 3, 5/);
    expect(defineFunction({ ...base, logRetentionDays: 14 }).logRetentionDays).toBe(14);
  });

  it('counts in the 4 KB what infra adds, at its longest: NODE_OPTIONS, LAMINAR_STAGE, each secret\'s ARN or parameter name, resource names', () => {
    const stage = 'x'.repeat(12);
    const secrets = [
      { name: 'FEED_KEY_ARN', from: 'secretsmanager' as const, id: 'feed-key' },
      { name: 'FEED_PARAM', from: 'ssm' as const, id: 'feed-param' },
    ];
    expect(worstCaseEnvironment({ env: { DOCS: { ref: { bucket: 'docs' } }, SEEN: { ref: { table: 'seen' } }, ITEMS: { ref: { topic: 'items' } } }, secrets })).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      // A bucket's name can take S3's 63 characters (LAMINAR_BUCKET_SUFFIX after the logical name).
      DOCS: 'x'.repeat(63),
      SEEN: `laminar-${stage}-seen`,
      ITEMS: `${stage}.items`,
      // A secret's ARN carries the longest partition and region, and Secrets Manager's 6 random characters.
      FEED_KEY_ARN: `arn:${'x'.repeat(10)}:secretsmanager:${'x'.repeat(15)}:000000000000:secret:laminar/${stage}/feed-key-xxxxxx`,
      FEED_PARAM: `/laminar/${stage}/feed-param`,
      LAMINAR_STAGE: stage,
    });
    // 3,900 bytes of env alone passed before; with a secret's ARN and the platform's variables they do not.
    expect(defineFunction({ ...base, env: { BIG: 'x'.repeat(3900) } }).env.BIG).toHaveLength(3900);
    expect(() => defineFunction({ ...base, env: { BIG: 'x'.repeat(3900) }, secrets: [{ name: 'FEED_KEY_ARN', from: 'secretsmanager', id: 'x'.repeat(41) }] })).toThrow(
      /env: the environment can take 4\d{3} bytes, and Lambda takes at most 4096 \(the variables as JSON, counting what infra adds: NODE_OPTIONS, LAMINAR_STAGE, each secret's ARN or parameter name/,
    );
    // A reference counts as the resource's name, not as the logical one.
    expect(() => defineFunction({ ...base, env: { BIG: 'x'.repeat(3900), ...Object.fromEntries(['A', 'B'].map((c) => [`BUCKET_${c}`, { ref: { bucket: `bucket-${c.toLowerCase()}` } }])) } })).toThrow(/env: the environment can take/);
    // What the platform sets is the platform's.
    expect(() => defineFunction({ ...base, env: { LAMINAR_STAGE: 'prod' } })).toThrow(/env\.LAMINAR_STAGE: LAMINAR_STAGE is set by the platform/);
    expect(() => defineFunction({ ...base, secrets: [{ name: 'LAMINAR_STAGE', from: 'ssm', id: 'stage' }] })).toThrow(/LAMINAR_STAGE is reserved/);
  });

  it('takes env var names as Lambda does: a letter and at least one more character, for env, local env and secrets alike', () => {
    const rule = 'an env var name is an upper-case letter, then upper-case letters, digits and "_": at least 2 characters (Lambda refuses a one-letter name)';
    expect(() => defineFunction({ ...base, env: { A: 'x' } })).toThrow(`env.A: ${rule}`);
    expect(() => defineFunction({ ...base, local: { env: { U: 'x' } } })).toThrow(`local.env.U: ${rule}`);
    expect(() => defineFunction({ ...base, secrets: [{ name: 'K', from: 'ssm', id: 'api-key' }] })).toThrow(`secrets.0.name: ${rule}`);
    expect(() => defineFunction({ ...base, env: { '1A': 'x' } })).toThrow(`env.1A: ${rule}`);
    expect(defineFunction({ ...base, env: { AB: 'x', A_: 'y' }, secrets: [{ name: 'K1', from: 'ssm', id: 'api-key' }] }).env).toEqual({ AB: 'x', A_: 'y' });
  });

  it('refuses a bucket name S3 would refuse: ending in "-", or in a suffix S3 keeps for itself', () => {
    const kebab = 'logical names are lower-case kebab-case: 2-41 letters, digits and hyphens, starting and ending with a letter or digit';
    expect(() => defineFunction({ ...base, triggers: [{ kind: 's3', bucket: 'docs-' }] })).toThrow(`triggers.0.bucket: ${kebab}`);
    expect(() => defineFunction({ ...base, permissions: [{ actions: ['s3:GetObject'], resource: { bucket: 'docs-', prefix: '*' } }] })).toThrow(`permissions.0.resource.bucket: ${kebab}`);
    expect(() => defineFunction({ ...base, env: { DOCS: { ref: { bucket: 'docs-' } } } })).toThrow(`env.DOCS.ref.bucket: ${kebab}`);
    expect(() => defineQueue({ name: 'arrivals', subscribe: [{ kind: 's3', bucket: 'docs-' }] })).toThrow(`subscribe.0.bucket: ${kebab}`);
    // And every other logical name with it: kebab-case ends in a letter or digit.
    expect(() => defineFunction({ ...base, tables: [{ name: 'seen-', kind: 'dedup' }] })).toThrow(`tables.0.name: ${kebab}`);
    for (const suffix of ['-s3alias', '--ol-s3', '--x-s3']) {
      expect(() => defineFunction({ ...base, triggers: [{ kind: 's3', bucket: `docs${suffix}` }] })).toThrow(
        `triggers.0.bucket: bucket "docs${suffix}" ends in "${suffix}", which S3 reserves: CreateBucket would refuse laminar-<stage>-docs${suffix}`,
      );
    }
    expect(defineFunction({ ...base, triggers: [{ kind: 's3', bucket: 'd2' }] }).triggers).toHaveLength(1);
    expect(defineFunction({ ...base, triggers: [{ kind: 's3', bucket: 's3alias-docs' }] }).triggers).toHaveLength(1);
  });

  it('refuses a name that the longest stage would push past a derived name\'s limit, when the spec is defined', () => {
    const scheduled = (name: string) => ({ ...base, name, triggers: [{ kind: 'invoke' as const }, { kind: 'schedule' as const, expression: 'rate(1 hour)' }] });
    // Without schedules the function's own name is the longest: "laminar-<12>-" + 41 = 62 of 64.
    expect(defineFunction({ ...base, name: 'a'.repeat(41) }).name).toHaveLength(41);
    // With one, its rule "laminar-<12>-<name>-schedule-1" must fit EventBridge's 64.
    expect(defineFunction(scheduled('a'.repeat(32))).name).toHaveLength(32);
    expect(() => defineFunction(scheduled('a'.repeat(33)))).toThrow(
      `"${'a'.repeat(33)}" is 1 character(s) too long: on a 12-character stage its schedule 1's EventBridge rule would be named "laminar-xxxxxxxxxxxx-${'a'.repeat(33)}-schedule-1" (65 characters; AWS takes 64)`,
    );
  });

  it('refuses a bucket or delivery stream name that would push its rule or Firehose role past 64 characters on some stage', () => {
    const s3 = (bucket: string) => ({ ...base, triggers: [{ kind: 's3' as const, bucket, prefix: 'in/' }] });
    // "laminar-<12>-s3-<bucket>-<8 hex>": 31 characters of bucket fit, 32 do not.
    expect(defineFunction(s3('b'.repeat(31))).triggers).toHaveLength(1);
    expect(() => defineFunction(s3('b'.repeat(32)))).toThrow(
      `"${'b'.repeat(32)}" is 1 character(s) too long: on a 12-character stage its S3 pattern's EventBridge rule would be named "laminar-xxxxxxxxxxxx-s3-${'b'.repeat(32)}-00000000" (65 characters; AWS takes 64)`,
    );
    expect(() => defineQueue({ name: 'arrivals', subscribe: [{ kind: 's3', bucket: 'b'.repeat(32) }] })).toThrow(/S3 pattern's EventBridge rule/);
    // A function's own queues' names: one SQS name for two queues, and a DLQ to the runner's commands.
    expect(() => defineQueue({ name: 'csv-validator-dlq' })).toThrow(/name: a declared queue's name may not end in "-dlq"/);
    expect(() => defineQueue({ name: 'rss-producer-schedule-undelivered' })).toThrow(/-schedule-undelivered/);
    expect(defineQueue({ name: 'dlq-watchers' }).name).toBe('dlq-watchers');
    // "laminar-<12>-<stream>-firehose": 34 characters of stream fit, 35 do not.
    const stream = { bucket: 'lake', prefix: 'in/', errorOutputPrefix: 'errors/!{firehose:error-output-type}/' };
    expect(defineFunction({ ...base, deliveryStreams: [{ ...stream, name: 's'.repeat(34) }] }).deliveryStreams).toHaveLength(1);
    expect(() => defineFunction({ ...base, deliveryStreams: [{ ...stream, name: 's'.repeat(35) }] })).toThrow(
      `its Firehose delivery role would be named "laminar-xxxxxxxxxxxx-${'s'.repeat(35)}-firehose" (65 characters; AWS takes 64)`,
    );
  });

  it('refuses a name whose role would be one infra gives another role: the stage\'s deploy role, a delivery stream\'s Firehose role', () => {
    expect(() => defineFunction({ ...base, name: 'deploy' })).toThrow(SpecError);
    expect(() => defineFunction({ ...base, name: 'deploy' })).toThrow(
      'name: "deploy" would give the function the role laminar-<stage>-deploy, the name of the stage\'s deploy role (bootstrap stack): name the function otherwise',
    );
    expect(() => defineFunction({ ...base, name: 'inventory-firehose' })).toThrow(
      'name: "inventory-firehose" would give the function the role laminar-<stage>-inventory-firehose, the name of the Firehose role of a delivery stream "inventory": a function\'s name may not end in "-firehose"',
    );
    expect(defineFunction({ ...base, name: 'deployer' }).name).toBe('deployer');
    expect(defineFunction({ ...base, name: 'firehose-feeder' }).name).toBe('firehose-feeder');
  });

  it('refuses a metric alarm named as one of the function\'s own alarms, or as another metric\'s: PutMetricAlarm would replace one with the other', () => {
    const env = { POWERTOOLS_METRICS_NAMESPACE: 'Laminar', POWERTOOLS_SERVICE_NAME: 'demo' };
    const alarmOn = (...metrics: string[]) => defineFunction({ ...base, env, metrics, metricAlarms: metrics.map((metric) => ({ metric, description: 'x' })) });
    expect(FUNCTION_ALARM_SUFFIXES).toEqual(expect.arrayContaining(['errors', 'throttles', 'duration-p95', 'kafka-idle', 'destination-failures', 'async-events-dropped', 'dlq-not-empty']));
    for (const suffix of FUNCTION_ALARM_SUFFIXES) {
      const metric = suffix.replace(/(^|-)([a-z0-9])/g, (_, _dash, c: string) => c.toUpperCase());
      expect(metricAlarmSuffix(metric)).toBe(suffix);
      expect(() => alarmOn(metric)).toThrow(
        `metricAlarms.0.metric: the alarm on metric ${metric} would be named laminar-<stage>-demo-${suffix}, as infra names the function's own -${suffix} alarm: one would replace the other. Alarm on a metric named otherwise`,
      );
    }
    expect(alarmOn('ErrorsRetried', 'RowsRejected').metricAlarms).toHaveLength(2);
    // Two metric names infra's kebab-case makes one alarm name.
    expect(() => alarmOn('FileSRejected', 'FileSrejected')).toThrow(
      'metricAlarms.1.metric: the alarms on metrics FileSRejected and FileSrejected would both be named laminar-<stage>-demo-file-srejected: one would replace the other',
    );
  });

  it('refuses metrics with Powertools Metrics turned off (POWERTOOLS_METRICS_DISABLED, or POWERTOOLS_DEV): none would be emitted, no alarm would fire', () => {
    const env = { POWERTOOLS_METRICS_NAMESPACE: 'Laminar', POWERTOOLS_SERVICE_NAME: 'demo' };
    const alarmed = (extra: Record<string, string>) => defineFunction({ ...base, env: { ...env, ...extra }, metrics: ['FilesRejected'], metricAlarms: [{ metric: 'FilesRejected', description: 'x' }] });
    const silent = 'the function would emit none of its metrics, and its metric alarms would never fire';
    // Powertools 2.35 reads these trimmed, in any case, as 1/y/yes/t/true/on.
    for (const on of ['true', '1', ' Yes ', 'ON', 't']) {
      expect(() => alarmed({ POWERTOOLS_DEV: on })).toThrow(`env.POWERTOOLS_DEV: POWERTOOLS_DEV turns Powertools Metrics off (unless POWERTOOLS_METRICS_DISABLED is set to a false value): ${silent}`);
      expect(() => alarmed({ POWERTOOLS_METRICS_DISABLED: on })).toThrow(`env.POWERTOOLS_METRICS_DISABLED: POWERTOOLS_METRICS_DISABLED turns Powertools Metrics off: ${silent}`);
    }
    // Metrics without alarms too: the dashboard would chart nothing.
    expect(() => defineFunction({ ...base, env: { ...env, POWERTOOLS_DEV: 'true' }, metrics: ['FilesRejected'] })).toThrow(/env\.POWERTOOLS_DEV: POWERTOOLS_DEV turns Powertools Metrics off/);
    // POWERTOOLS_METRICS_DISABLED, when set, wins over POWERTOOLS_DEV.
    expect(alarmed({ POWERTOOLS_DEV: 'true', POWERTOOLS_METRICS_DISABLED: 'false' }).metricAlarms).toHaveLength(1);
    expect(() => alarmed({ POWERTOOLS_DEV: 'false', POWERTOOLS_METRICS_DISABLED: 'true' })).toThrow(/env\.POWERTOOLS_METRICS_DISABLED: /);
    expect(alarmed({ POWERTOOLS_DEV: 'false' }).metricAlarms).toHaveLength(1);
    // Powertools reads a POWERTOOLS_DEV it cannot parse as not dev mode.
    expect(alarmed({ POWERTOOLS_DEV: 'maybe' }).metricAlarms).toHaveLength(1);
    // Without metrics, dev mode is the function's own business.
    expect(defineFunction({ ...base, env: { POWERTOOLS_DEV: 'true' } }).env.POWERTOOLS_DEV).toBe('true');
    // A POWERTOOLS_METRICS_DISABLED it cannot parse makes the Metrics constructor throw, which every function runs at init.
    for (const value of ['disabled', '']) {
      expect(() => defineFunction({ ...base, env: { POWERTOOLS_METRICS_DISABLED: value } })).toThrow(/env\.POWERTOOLS_METRICS_DISABLED: Powertools Metrics throws at init on a value it cannot read as a boolean: write one of 1, y, yes/);
    }
  });

  it('refuses a metric alarm description that would pass CloudWatch\'s 1,024 characters with the function\'s name before it', () => {
    const env = { POWERTOOLS_METRICS_NAMESPACE: 'Laminar', POWERTOOLS_SERVICE_NAME: 'demo' };
    const alarm = (description: string) => defineFunction({ ...base, env, metrics: ['FilesRejected'], metricAlarms: [{ metric: 'FilesRejected', description }] });
    // "laminar-<12>-<41>: " takes 64 of the 1,024.
    expect(alarm('d'.repeat(960)).metricAlarms[0]?.description).toHaveLength(960);
    expect(() => alarm('d'.repeat(961))).toThrow(/metricAlarms\.0\.description: CloudWatch takes an alarm description of at most 1024 characters, .* at most 960 bytes \(UTF-8\) here/);
    // Bytes, as the provider counts them: 481 "é" are 962.
    expect(() => alarm('é'.repeat(481))).toThrow(/at most 960 bytes/);
  });

  it('refuses wildcard actions and out-of-range limits', () => {
    expect(() => defineFunction({ ...base, permissions: [{ actions: ['s3:*'], resource: { bucket: 'documents' } }] })).toThrow(/no wildcards/);
    expect(() => defineFunction({ ...base, timeoutS: 901 })).toThrow(/timeoutS/);
    expect(() => defineFunction({ ...base, memoryMb: 64 })).toThrow(/memoryMb/);
  });

  it('derives buckets, write access and resolved env', () => {
    const spec = defineFunction({
      ...base,
      env: { BUCKET: { ref: { bucket: 'documents' } }, PLAIN: 'plain' },
      permissions: [
        { actions: ['s3:ListBucket'], resource: { bucket: 'documents' } },
        { actions: ['s3:GetObject'], resource: { bucket: 'archive', prefix: '*' } },
        { actions: ['s3:PutObject'], resource: { bucket: 'documents', prefix: 'out/*' } },
      ],
    });
    expect(bucketsOf(spec)).toEqual(['archive', 'documents']);
    expect(writesTo(spec, 'documents')).toBe(true);
    expect(writesTo(spec, 'archive')).toBe(false);
    const namer = {
      bucket: (b: string) => `laminar-dev-${b}`,
      table: (t: string) => `laminar-dev-${t}`,
      topic: (t: string) => `dev.${t}`,
      deliveryStream: (d: string) => `laminar-dev-${d}`,
      setting: () => 'broker:9092',
    };
    expect(resolveEnv(spec, namer)).toEqual({ NODE_OPTIONS: '--enable-source-maps', PLAIN: 'plain', BUCKET: 'laminar-dev-documents' });
    // A spec's node flags join the platform's instead of replacing them.
    const flagged = { ...spec, env: { ...spec.env, NODE_OPTIONS: '--max-semi-space-size=8' } };
    expect(resolveEnv(flagged, namer).NODE_OPTIONS).toBe('--enable-source-maps --max-semi-space-size=8');
  });

  it('resolves table, topic and setting refs and checks tables are declared', () => {
    const withRefs = {
      ...base,
      env: { TABLE: { ref: { table: 'feed-dedup' } }, TOPIC: { ref: { topic: 'rss-items' } }, SERVERS: { ref: { setting: 'kafkaBootstrapServers' as const } } },
    };
    expect(() => defineFunction(withRefs)).toThrow(/table "feed-dedup" is used but not declared/);
    const spec = defineFunction({ ...withRefs, tables: [{ name: 'feed-dedup', kind: 'dedup' }] });
    expect(topicsOf(spec)).toEqual(['rss-items']);
    expect(
      resolveEnv(spec, { bucket: (b) => b, table: (t) => `tbl-${t}`, topic: (t) => `dev.${t}`, deliveryStream: (d) => d, setting: () => 'broker:9092' }),
    ).toMatchObject({ TABLE: 'tbl-feed-dedup', TOPIC: 'dev.rss-items', SERVERS: 'broker:9092' });
  });

  it('declares delivery streams with their Glue table, and refuses undeclared or inconsistent ones', () => {
    const stream = {
      name: 'inventory',
      bucket: 'lake',
      prefix: 'inventory/year=!{timestamp:yyyy}/hour=!{timestamp:HH}/',
      errorOutputPrefix: 'errors/!{firehose:error-output-type}/',
      table: { database: 'laminar', name: 'inventory', columns: [{ name: 'store_id', type: 'string' as const }], partitionKeys: ['year', 'hour'] },
    };
    const uses = { env: { STREAM: { ref: { deliveryStream: 'inventory' } } }, permissions: [{ actions: ['firehose:PutRecordBatch'], resource: { deliveryStream: 'inventory' } }] };
    expect(() => defineFunction({ ...base, ...uses })).toThrow(/delivery stream "inventory" is used but not declared/);
    const spec = defineFunction({ ...base, ...uses, deliveryStreams: [stream] });
    expect(spec.deliveryStreams[0]?.buffering).toEqual({ sizeMb: 64, intervalS: 300 });
    expect(bucketsOf(spec)).toContain('lake');
    expect(resolveEnv(spec, { bucket: (b) => b, table: (t) => t, topic: (t) => t, deliveryStream: (d) => `laminar-dev-${d}`, setting: () => '' }).STREAM).toBe('laminar-dev-inventory');
    expect(() => defineFunction({ ...base, deliveryStreams: [{ ...stream, errorOutputPrefix: 'errors/' }] })).toThrow(/firehose:error-output-type/);
    expect(() => defineFunction({ ...base, deliveryStreams: [{ ...stream, table: { ...stream.table, partitionKeys: ['day'] } }] })).toThrow(/partition key "day"/);
  });

  it('declares Kafka event source mappings, whose topics count as used', () => {
    const kafka = { kind: 'kafka' as const, topics: ['rss-items', 'prices'], cluster: { kind: 'self-managed' as const, auth: 'BASIC_AUTH' as const, secret: 'kafka-consumer' } };
    const spec = defineFunction({ ...base, triggers: [kafka] });
    expect(kafkaTriggersOf(spec)[0]).toMatchObject({ batchSize: 100, batchingWindowS: 0, startingPosition: 'TRIM_HORIZON' });
    expect(() => defineFunction({ ...base, triggers: [{ ...kafka, maxRetries: 2 }] })).toThrow(/provisioned poller mode/);
    const provisioned = defineFunction({ ...base, triggers: [{ ...kafka, provisioned: { minPollers: 1, maxPollers: 2 }, maxRetries: 2 }] });
    expect(kafkaTriggersOf(provisioned)[0]?.maxRetries).toBe(2);
    // Left to AWS, the retries would be unbounded or capped by rules the runner could not follow.
    expect(() => defineFunction({ ...base, triggers: [{ ...kafka, provisioned: { minPollers: 1, maxPollers: 2 } }] })).toThrow(/say how many times a failed batch is retried/);
    expect(topicsOf(spec)).toEqual(['prices', 'rss-items']);
    expect(hasDlq(spec)).toBe(true);
    expect(() => defineFunction({ ...base, triggers: [{ ...kafka, batchSize: 10_001 }] })).toThrow(/batchSize/);
    expect(() => defineFunction({ ...base, triggers: [kafka], async: { maxRetries: 1, maxEventAgeS: 60, onFailure: 'dlq' } })).toThrow(/synchronously/);
    // Two topics infra would give one mapping name are refused, naming both.
    expect(() => defineFunction({ ...base, triggers: [{ ...kafka, topics: ['orders.v1', 'orders-v1'] }] })).toThrow(/topics "orders\.v1" and "orders-v1" differ only in "\." and "-"/);
    expect(() => defineFunction({ ...base, triggers: [{ ...kafka, topics: ['orders.v1', 'orders.v1'] }] })).not.toThrow();
  });

  it('gives a Kafka trigger an idle limit for its no-invocations alarm: 60 minutes unless set, in steps of 5 up to a day', () => {
    const kafka = { kind: 'kafka' as const, topics: ['rss-items'], cluster: { kind: 'msk' as const } };
    expect(kafkaTriggersOf(defineFunction({ ...base, triggers: [kafka] }))[0]?.maxIdleMinutes).toBe(60);
    expect(kafkaTriggersOf(defineFunction({ ...base, triggers: [{ ...kafka, maxIdleMinutes: 1440 }] }))[0]?.maxIdleMinutes).toBe(1440);
    expect(kafkaTriggersOf(defineFunction({ ...base, triggers: [{ ...kafka, maxIdleMinutes: 5 }] }))[0]?.maxIdleMinutes).toBe(5);
    // The alarm's period is 5 minutes, and CloudWatch evaluates at most a day of such periods.
    expect(() => defineFunction({ ...base, triggers: [{ ...kafka, maxIdleMinutes: 0 }] })).toThrow(/triggers\.0\.maxIdleMinutes/);
    expect(() => defineFunction({ ...base, triggers: [{ ...kafka, maxIdleMinutes: 7 }] })).toThrow(/triggers\.0\.maxIdleMinutes: .*multiple of 5/);
    expect(() => defineFunction({ ...base, triggers: [{ ...kafka, maxIdleMinutes: 1445 }] })).toThrow(/triggers\.0\.maxIdleMinutes/);
  });
});

describe('S3 triggers with the suffix also in upper case', () => {
  const s3 = (t: Record<string, unknown>) => defineFunction({ ...base, triggers: [{ kind: 's3', bucket: 'lake', prefix: 'in/', ...t }] as never });

  it('match the suffix as written and in upper case, no other spelling', () => {
    expect(suffixSpellings({ suffix: '.csv', alsoUpperCaseSuffix: true })).toEqual(['.csv', '.CSV']);
    expect(suffixSpellings({ suffix: '.csv' })).toEqual(['.csv']);
    expect(s3({ suffix: '.csv', alsoUpperCaseSuffix: true }).triggers[0]).toMatchObject({ alsoUpperCaseSuffix: true });
  });

  it('refuse a suffix not written in lower-case ASCII with a letter, and say why', () => {
    expect(() => s3({ suffix: '.CSV', alsoUpperCaseSuffix: true })).toThrow(/alsoUpperCaseSuffix: the suffix ".CSV" must be ASCII, in lower case, with a letter/);
    for (const suffix of ['.Csv', '_2026', '', '.straße']) expect(() => s3({ suffix, alsoUpperCaseSuffix: true })).toThrow(/must be ASCII, in lower case, with a letter/);
    expect(() => s3({ suffix: '.tar.gz', alsoUpperCaseSuffix: true })).not.toThrow();
    expect(() => s3({ suffix: '_v2.json', alsoUpperCaseSuffix: true })).not.toThrow();
  });

  it('keep the pattern key (and so the rule name) of a pattern without it, and give one with it its own', () => {
    const t = { bucket: 'lake', prefix: 'in/', suffix: '.csv', events: ['Object Created' as const] };
    expect(s3PatternKey(t)).toBe('["lake","in/",".csv",["Object Created"]]');
    expect(s3PatternKey({ ...t, alsoUpperCaseSuffix: false })).toBe(s3PatternKey(t));
    expect(s3PatternKey({ ...t, alsoUpperCaseSuffix: true })).not.toBe(s3PatternKey(t));
  });
});

describe('bucket grants', () => {
  it('take one key pattern or several; an empty one is the bucket itself, as before', () => {
    const grant = (prefix: unknown) => defineFunction({ ...base, permissions: [{ actions: ['s3:GetObject'], resource: { bucket: 'lake', prefix } }] as never });
    expect(keyPatternsOf({ bucket: 'lake', prefix: 'a/*' })).toEqual(['a/*']);
    expect(keyPatternsOf({ bucket: 'lake', prefix: ['a/*.csv', 'a/*.CSV'] })).toEqual(['a/*.csv', 'a/*.CSV']);
    expect(keyPatternsOf({ bucket: 'lake', prefix: '' })).toEqual([]);
    expect(keyPatternsOf({ bucket: 'lake' })).toEqual([]);
    expect(() => grant([])).toThrow(/invalid spec/);
    expect(() => grant(['a/*', ''])).toThrow(/invalid spec/);
  });
});

describe('schedule triggers', () => {
  const schedule = (expression: string) => defineFunction({ ...base, triggers: [{ kind: 'schedule', expression }] });

  it.each([
    'rate(1 minute)',
    'rate(5 minutes)',
    'rate(1 hour)',
    'rate(12 hours)',
    'rate(1 day)',
    'rate(7 days)',
    'cron(0 2 * * ? *)',
    'cron(0/15 8-17 ? * MON-FRI *)',
    'cron(0 6 L * ? *)',
    'cron(30 9 ? * 6L 2030)',
  ])('takes %s, which EventBridge takes', (expression) => {
    expect(schedule(expression).triggers[0]).toEqual({ kind: 'schedule', expression });
  });

  // Each of these passed the old pattern, synthesized, and failed at PutRule midway through an apply.
  it.each([
    ['rate(1 minutes)', /wants "1 minute"/],
    ['rate(5 minute)', /wants "5 minutes"/],
    ['rate(1 days)', /wants "1 day"/],
    ['rate(0 minutes)', /positive integer/],
    ['cron(0 2 * * * *)', /exactly one of day-of-month and day-of-week must be "\?"/],
    ['cron(0 2 ? * ? *)', /exactly one of day-of-month and day-of-week must be "\?"/],
    ['cron(0 2 * * ?)', /has 5 fields; EventBridge wants 6/],
    ['cron(0 0 2 * * ? *)', /has 7 fields; EventBridge wants 6/],
    ['cron(60 2 * * ? *)', /minutes "60" is outside 0-59/],
    ['rate(5 weeks)', /neither rate\(N unit\) nor cron/],
    ['every 5 minutes', /neither rate\(N unit\) nor cron/],
  ])('refuses %s, as EventBridge does, at definition time', (expression, why) => {
    expect(() => schedule(expression)).toThrow(SpecError);
    expect(() => schedule(expression)).toThrow(/triggers\.0\.expression: EventBridge would refuse this schedule/);
    expect(() => schedule(expression)).toThrow(why);
  });

  it('refuses a layer built for another architecture', () => {
    const layer = { spec: defineLayer({ name: 'kafka-layer', architectures: ['x86_64'], runtimes: ['nodejs20.x'], modules: ['m'] }), dir: '', zipPath: '', hashPath: '' };
    expect(() => layersFor(defineFunction({ ...base, layers: ['kafka-layer'] }), [layer])).toThrow(/arm64 but layer kafka-layer is built for x86_64/);
    expect(layersFor(defineFunction({ ...base, runtime: 'nodejs20.x', architecture: 'x86_64', layers: ['kafka-layer'] }), [layer])).toEqual([layer]);
    // The default runtime (nodejs22.x) would not load a layer built for Node 20 only.
    expect(() => layersFor(defineFunction({ ...base, architecture: 'x86_64', layers: ['kafka-layer'] }), [layer])).toThrow(/runs nodejs22.x but layer kafka-layer supports nodejs20.x/);
    expect(() => layersFor(defineFunction({ ...base, layers: ['nope'] }), [layer])).toThrow(/unknown layer/);
  });
});

describe('Kafka consumer groups', () => {
  it('gives each Kafka trigger of a function its own group, and each topic of a trigger its own mapping', () => {
    expect(kafkaGroupStem('archiver', 0)).toBe('archiver');
    expect(kafkaGroupStem('archiver', 1)).toBe('archiver-2');
    expect(kafkaMappings(kafkaGroupStem('archiver', 1), ['b', 'a', 'b'])).toEqual([
      { topic: 'a', consumerGroupId: 'archiver-2.a' },
      { topic: 'b', consumerGroupId: 'archiver-2.b' },
    ]);
    expect(kafkaMappings('archiver', ['only'])).toEqual([{ topic: 'only', consumerGroupId: 'archiver.only' }]);
  });

  it('keeps a topic\'s group when another topic is added or removed: the group holds its offsets', () => {
    const groupOf = (topics: string[], topic: string) => kafkaMappings('archiver', topics).find((m) => m.topic === topic)?.consumerGroupId;
    expect(groupOf(['a'], 'a')).toBe('archiver.a');
    expect(groupOf(['a', 'b'], 'a')).toBe(groupOf(['a'], 'a'));
    expect(groupOf(['b'], 'b')).toBe(groupOf(['a', 'b'], 'b'));
  });
});
