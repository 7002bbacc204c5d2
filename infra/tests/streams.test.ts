import { defineFunction } from '@laminar/spec';
import { beforeAll, describe, expect, it } from 'vitest';
import storeInventory from '../../functions/store-inventory/spec.ts';
import { INVENTORY_COLUMNS } from '../../functions/store-inventory/src/columns.ts';
import { escapeInterpolation, glueDatabaseName, partitionProjection, staticPrefix } from '../src/partitions.ts';
import { type PolicyDocument, permissionStatements } from '../src/policy.ts';
import { fakeArtifact, fakeRoot, resourcesOf, type StackJson, streams, synthInto, undeliveredLostAlarm } from './fixtures.ts';

const STACK = 'laminar-dev';
let json: StackJson;
let raw: string;

beforeAll(async () => {
  const root = fakeRoot();
  const synth = synthInto(root, await streams(root));
  json = synth.json(STACK);
  raw = synth.raw(STACK);
});

type Json = Record<string, unknown>;
const one = (type: string, key: string, value: unknown): Json => {
  const found = resourcesOf(json, type).filter((r) => r[key] === value);
  expect(found, `${type} ${key}=${String(value)}`).toHaveLength(1);
  return found[0] as Json;
};
/** `${type.id.attr}` of the one resource of `type` whose `key` is `value`. */
const ref = (type: string, key: string, value: unknown, attr: string): string => {
  const entries = Object.entries(json.resource[type] ?? {}).filter(([, r]) => r[key] === value);
  expect(entries, `${type} ${key}=${String(value)}`).toHaveLength(1);
  return `\${${type}.${(entries[0] as [string, unknown])[0]}.${attr}}`;
};
const policyOf = (name: string) => JSON.parse(one('aws_iam_role_policy', 'name', name).policy as string) as PolicyDocument;
const data = (type: string) => (json as unknown as { data: Record<string, Record<string, Json>> }).data[type] ?? {};

const decl = storeInventory.deliveryStreams[0] as (typeof storeInventory.deliveryStreams)[number];
const LAKE_ARN = () => ref('aws_s3_bucket', 'bucket', 'laminar-dev-lake', 'arn');

describe('store-inventory delivery stream', () => {
  it('is a Direct PUT stream into the lake bucket with the spec’s prefixes and buffering', () => {
    const stream = one('aws_kinesis_firehose_delivery_stream', 'name', 'laminar-dev-store-inventory');
    expect(stream).toMatchObject({
      destination: 'extended_s3',
      server_side_encryption: { enabled: true, key_type: 'AWS_OWNED_CMK' },
      extended_s3_configuration: {
        bucket_arn: LAKE_ARN(),
        role_arn: ref('aws_iam_role', 'name', 'laminar-dev-store-inventory-firehose', 'arn'),
        prefix: 'inventory/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/',
        error_output_prefix: 'inventory-errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/',
        buffering_size: 64,
        buffering_interval: 300,
        compression_format: 'UNCOMPRESSED',
      },
      tags: { function: 'store-inventory', delivery_stream: 'store-inventory' },
    });
    const s3 = stream.extended_s3_configuration as Json;
    expect(s3.prefix).toBe(decl.prefix);
    expect(s3.error_output_prefix).toBe(decl.errorOutputPrefix);
    expect(stream.depends_on).toEqual([expect.stringMatching(/^aws_iam_role_policy\.firehose-store-inventory/)]);
  });

  it('logs delivery errors to its own log group and stream, with retention', () => {
    const group = one('aws_cloudwatch_log_group', 'name', '/aws/kinesisfirehose/laminar-dev-store-inventory');
    expect(group.retention_in_days).toBe(storeInventory.logRetentionDays);
    const groupName = ref('aws_cloudwatch_log_group', 'name', '/aws/kinesisfirehose/laminar-dev-store-inventory', 'name');
    const stream = one('aws_cloudwatch_log_stream', 'log_group_name', groupName);
    expect(stream.name).toBe('DestinationDelivery');
    const firehose = one('aws_kinesis_firehose_delivery_stream', 'name', 'laminar-dev-store-inventory');
    expect((firehose.extended_s3_configuration as Json).cloudwatch_logging_options).toEqual({
      enabled: true,
      log_group_name: groupName,
      log_stream_name: ref('aws_cloudwatch_log_stream', 'log_group_name', groupName, 'name'),
    });
  });

  it('alarms when delivery to S3 falls behind (records a producer handed over are not in S3 yet)', () => {
    const alarm = one('aws_cloudwatch_metric_alarm', 'alarm_name', 'laminar-dev-store-inventory-delivery-behind');
    expect(alarm).toMatchObject({
      namespace: 'AWS/Firehose',
      metric_name: 'DeliveryToS3.DataFreshness',
      dimensions: { DeliveryStreamName: 'laminar-dev-store-inventory' },
      statistic: 'Maximum',
      comparison_operator: 'GreaterThanThreshold',
      threshold: 900,
    });
    expect(alarm.alarm_actions).toEqual(alarm.ok_actions);
    expect((alarm.alarm_actions as string[])[0]).toMatch(/^\$\{aws_sns_topic\./);
  });

  it('has its own role: assumable by Firehose for this account only', () => {
    const role = one('aws_iam_role', 'name', 'laminar-dev-store-inventory-firehose');
    expect(JSON.parse(role.assume_role_policy as string)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'firehose.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': '${data.aws_caller_identity.caller.account_id}' } },
        },
      ],
    });
  });

  it('lets Firehose write only under the stream’s two prefixes and log to its own stream', () => {
    const lake = LAKE_ARN();
    const groupName = ref('aws_cloudwatch_log_group', 'name', '/aws/kinesisfirehose/laminar-dev-store-inventory', 'name');
    const policy = JSON.parse(
      one('aws_iam_role_policy', 'name', ref('aws_iam_role', 'name', 'laminar-dev-store-inventory-firehose', 'name')).policy as string,
    ) as PolicyDocument;
    expect(policy.Statement).toEqual([
      { Effect: 'Allow', Action: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'], Resource: [lake] },
      { Effect: 'Allow', Action: ['s3:AbortMultipartUpload', 's3:PutObject'], Resource: [`${lake}/inventory/*`, `${lake}/inventory-errors/*`] },
      { Effect: 'Allow', Action: ['logs:PutLogEvents'], Resource: [ref('aws_cloudwatch_log_stream', 'log_group_name', groupName, 'arn')] },
    ]);
  });

  it('the function gets the stream’s name in its env and PutRecordBatch on exactly that stream', () => {
    const fn = one('aws_lambda_function', 'function_name', 'laminar-dev-store-inventory');
    expect((fn.environment as { variables: Record<string, string> }).variables.DELIVERY_STREAM).toBe('laminar-dev-store-inventory');
    expect(policyOf('laminar-dev-store-inventory').Statement).toContainEqual({
      Effect: 'Allow',
      Action: ['firehose:PutRecordBatch'],
      Resource: [ref('aws_kinesis_firehose_delivery_stream', 'name', 'laminar-dev-store-inventory', 'arn')],
    });
  });

  it('keeps the lake bucket versioned with upload cleanup, as for any writer', async () => {
    // store-inventory alone: no spec permission writes to the lake, Firehose does.
    const root = fakeRoot();
    const only = synthInto(root, [fakeArtifact(root, storeInventory)]).json(STACK);
    const bucket = Object.entries(only.resource.aws_s3_bucket ?? {});
    expect(bucket.map(([, b]) => b.bucket)).toEqual(['laminar-dev-lake']);
    const id = `\${aws_s3_bucket.${(bucket[0] as [string, unknown])[0]}.id}`;
    expect(resourcesOf(only, 'aws_s3_bucket_versioning').map((v) => v.bucket)).toEqual([id]);
    expect(resourcesOf(only, 'aws_s3_bucket_lifecycle_configuration').map((v) => v.bucket)).toEqual([id]);
  });

  it('runs on its schedule with the constant input and the firing’s id and time, and failed async events go to its DLQ', () => {
    const rule = one('aws_cloudwatch_event_rule', 'name', 'laminar-dev-store-inventory-schedule-1');
    expect(rule.schedule_expression).toBe('rate(1 hour)');
    const target = one('aws_cloudwatch_event_target', 'rule', ref('aws_cloudwatch_event_rule', 'name', 'laminar-dev-store-inventory-schedule-1', 'name'));
    // An input transformer, not a constant Input: a retry or a DLQ replay of the firing's event
    // carries the firing's id (the records' seed) and time (their `at`).
    expect(target.input).toBeUndefined();
    expect(target.input_transformer).toEqual({
      input_paths: { runId: '$.id', at: '$.time' },
      input_template: '{"stores":10,"recordsPerStore":50,"runId":<runId>,"at":<at>}',
    });
    // EventBridge puts a string value in quotes at a bare placeholder: the result is the input as JSON.
    const { input_template: template } = target.input_transformer as { input_template: string };
    const delivered = template.replace('<runId>', '"7bf73129-1428-4cd3-a780-95db273d1602"').replace('<at>', '"2026-11-26T09:00:00Z"');
    expect(JSON.parse(delivered)).toEqual({ stores: 10, recordsPerStore: 50, runId: '7bf73129-1428-4cd3-a780-95db273d1602', at: '2026-11-26T09:00:00Z' });
    const config = one(
      'aws_lambda_function_event_invoke_config',
      'function_name',
      ref('aws_lambda_function', 'function_name', 'laminar-dev-store-inventory', 'function_name'),
    );
    expect(config.destination_config).toEqual({ on_failure: { destination: ref('aws_sqs_queue', 'name', 'laminar-dev-store-inventory-dlq', 'arn') } });
    // A firing EventBridge cannot deliver waits in an encrypted queue only the schedule may fill.
    const undelivered = ref('aws_sqs_queue', 'name', 'laminar-dev-store-inventory-schedule-undelivered', 'arn');
    expect(target).toMatchObject({ dead_letter_config: { arn: undelivered }, retry_policy: { maximum_retry_attempts: 185, maximum_event_age_in_seconds: 86_400 } });
    expect(one('aws_sqs_queue', 'name', 'laminar-dev-store-inventory-schedule-undelivered').sqs_managed_sse_enabled).toBe(true);
    const policies = resourcesOf(json, 'aws_sqs_queue_policy').filter((p) => p.queue_url === ref('aws_sqs_queue', 'name', 'laminar-dev-store-inventory-schedule-undelivered', 'url'));
    expect(policies).toHaveLength(1);
    expect(JSON.parse((policies[0] as Json).policy as string).Statement).toEqual([
      {
        Sid: 'UndeliveredFromTheSchedules',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: undelivered,
        Condition: { ArnEquals: { 'aws:SourceArn': [ref('aws_cloudwatch_event_rule', 'name', 'laminar-dev-store-inventory-schedule-1', 'arn')] } },
      },
      // And nothing without TLS, as on every queue and topic (policy rule sqs-tls-only).
      { Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: 'sqs:*', Resource: undelivered, Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
    ]);
  });

  it('alarms, per schedule rule, on a firing that reached neither the function nor that queue: the queue’s alarms cannot see it', () => {
    const rules = resourcesOf(json, 'aws_cloudwatch_event_rule');
    expect(rules.map((r) => r.name)).toEqual(['laminar-dev-store-inventory-schedule-1']);
    for (const rule of rules) {
      expect(one('aws_cloudwatch_metric_alarm', 'alarm_name', `${rule.name}-undelivered-lost`)).toMatchObject({
        ...undeliveredLostAlarm(ref('aws_cloudwatch_event_rule', 'name', rule.name, 'name')),
        alarm_actions: [expect.stringMatching(/^\$\{aws_sns_topic\./)],
        tags: { function: 'store-inventory' },
      });
    }
  });
});

describe('Glue table over the stream', () => {
  it('one database per declared database name, suffixed with the stage', () => {
    expect(resourcesOf(json, 'aws_glue_catalog_database').map((d) => d.name)).toEqual(['laminar_dev']);
    expect(glueDatabaseName('laminar', 'pr-12')).toBe('laminar_pr_12');
  });

  it('declares the spec’s columns: one list for the generator, the spec and the table', () => {
    const table = one('aws_glue_catalog_table', 'name', 'store_inventory');
    expect(table.database_name).toBe(ref('aws_glue_catalog_database', 'name', 'laminar_dev', 'name'));
    const columns = (table.storage_descriptor as { columns: unknown[] }).columns;
    expect(columns).toEqual(decl.table?.columns.map((c) => ({ ...c })));
    expect(columns).toEqual(INVENTORY_COLUMNS.map((c) => ({ ...c })));
    expect(table.partition_keys).toEqual(['year', 'month', 'day', 'hour'].map((name) => ({ name, type: 'string' })));
  });

  it('is an external JSON Lines table (OpenX SerDe) at the stream’s static prefix', () => {
    const table = one('aws_glue_catalog_table', 'name', 'store_inventory');
    expect(table).toMatchObject({
      table_type: 'EXTERNAL_TABLE',
      parameters: { EXTERNAL: 'TRUE', classification: 'json' },
      storage_descriptor: {
        location: 's3://laminar-dev-lake/inventory/',
        input_format: 'org.apache.hadoop.mapred.TextInputFormat',
        output_format: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
        compressed: false,
        ser_de_info: { serialization_library: 'org.openx.data.jsonserde.JsonSerDe' },
      },
    });
  });

  it('projects year/month/day/hour partitions, so no crawler is needed', () => {
    const parameters = one('aws_glue_catalog_table', 'name', 'store_inventory').parameters as Record<string, string>;
    expect(parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.year.type': 'integer',
      'projection.year.range': '2025,2099',
      'projection.year.digits': '4',
      'projection.month.type': 'integer',
      'projection.month.range': '1,12',
      'projection.month.digits': '2',
      'projection.day.type': 'integer',
      'projection.day.range': '1,31',
      'projection.day.digits': '2',
      'projection.hour.type': 'integer',
      'projection.hour.range': '0,23',
      'projection.hour.digits': '2',
    });
    // Escaped for Terraform, so Athena receives the ${…} placeholders themselves.
    expect(parameters['storage.location.template']).toBe(
      's3://laminar-dev-lake/inventory/year=$${year}/month=$${month}/day=$${day}/hour=$${hour}/',
    );
    expect(raw).not.toMatch(/[^$]\$\{(year|month|day|hour)\}/);
  });
});

describe('partition helpers', () => {
  it('static prefix: the folder before the first expression', () => {
    expect(staticPrefix(decl.prefix)).toBe('inventory/');
    expect(staticPrefix(decl.errorOutputPrefix)).toBe('inventory-errors/');
    expect(staticPrefix('a/b/')).toBe('a/b/');
    expect(staticPrefix('!{timestamp:yyyy}/')).toBe('');
  });

  it('refuses prefixes the table could not project', () => {
    const p = (prefix: string, keys: string[]) => () => partitionProjection('b', prefix, keys, 'stream "x"');
    expect(p('x/dt=!{timestamp:yyyy-MM-dd}/', ['dt'])).toThrow(/projected formats are yyyy, MM, dd, HH/);
    expect(p('x/!{timestamp:yyyy}/', [])).toThrow(/not a "key=!\{timestamp:…\}" partition/);
    expect(p('x/year=!{timestamp:yyyy}/', [])).toThrow(/"year" is not among the table's partitionKeys/);
    expect(p('x/year=!{timestamp:yyyy}/', ['year', 'month'])).toThrow(/partition keys month are not in the prefix/);
    expect(p('x/year=!{timestamp:yyyy}/', ['year'])()).toEqual({
      location: 's3://b/x/',
      parameters: {
        'projection.enabled': 'true',
        'projection.year.type': 'integer',
        'projection.year.range': '2025,2099',
        'projection.year.digits': '4',
        'storage.location.template': 's3://b/x/year=${year}/',
      },
    });
    expect(escapeInterpolation('a=${a}/b=${b}')).toBe('a=$${a}/b=$${b}');
  });

  it('refuses an error prefix that the table would read as rows', async () => {
    const root = fakeRoot();
    const spec = defineFunction({
      ...storeInventory,
      deliveryStreams: [{ ...decl, errorOutputPrefix: 'inventory/errors/!{firehose:error-output-type}/' }],
    });
    expect(() => synthInto(root, [fakeArtifact(root, spec)])).toThrow(/lies under the table's location "inventory\/"/);
  });

  it('grants only firehose: actions on a delivery stream', () => {
    const spec = defineFunction({
      ...storeInventory,
      permissions: [{ actions: ['firehose:PutRecordBatch', 's3:PutObject'], resource: { deliveryStream: 'store-inventory' } }],
    });
    const arns = { bucket: (b: string) => b, table: (t: string) => t, deliveryStream: (d: string) => `arn:aws:firehose:eu-west-1:1:deliverystream/${d}` };
    expect(() => permissionStatements(spec, arns)).toThrow(/only firehose: actions apply to delivery stream "store-inventory", got s3:PutObject/);
  });
});

describe('kafka-archiver event source mapping', () => {
  it('reads each topic of the stage through a mapping of its own (AWS takes one topic per mapping), as a stable consumer group', () => {
    const fn = ref('aws_lambda_function', 'function_name', 'laminar-dev-kafka-archiver', 'arn');
    const mappings = resourcesOf(json, 'aws_lambda_event_source_mapping').filter((m) => m.function_name === fn);
    expect(mappings.map((m) => [m.topics, (m.self_managed_kafka_event_source_config as Json).consumer_group_id])).toEqual([
      [['dev.polymarket-prices'], 'laminar-dev-kafka-archiver.dev.polymarket-prices'],
      [['dev.rss-items'], 'laminar-dev-kafka-archiver.dev.rss-items'],
    ]);
    for (const m of mappings) expect(m.topics).toHaveLength(1);
    const esm = mappings[0] as Json;
    const secret = Object.entries(data('aws_secretsmanager_secret')).filter(([, d]) => d.name === 'laminar/dev/kafka-consumer-credentials');
    expect(secret).toHaveLength(1);
    const secretArn = `\${data.aws_secretsmanager_secret.${(secret[0] as [string, unknown])[0]}.arn}`;
    expect(esm).toMatchObject({
      batch_size: 1000,
      maximum_batching_window_in_seconds: 5,
      starting_position: 'TRIM_HORIZON',
      self_managed_event_source: { endpoints: { KAFKA_BOOTSTRAP_SERVERS: '${var.kafka_bootstrap_servers}' } },
      source_access_configuration: [{ type: 'BASIC_AUTH', uri: secretArn }],
      destination_config: { on_failure: { destination_arn: ref('aws_sqs_queue', 'name', 'laminar-dev-kafka-archiver-dlq', 'arn') } },
    });
    // On-demand pollers: no poller-hours, and no retry limit (Lambda honours one only when provisioned).
    expect(esm.provisioned_poller_config).toBeUndefined();
    expect(esm.maximum_retry_attempts).toBeUndefined();
    expect(esm.event_source_arn).toBeUndefined();
    expect(esm.amazon_managed_kafka_event_source_config).toBeUndefined();
    expect(esm.depends_on).toEqual([expect.stringMatching(/^aws_iam_role_policy\.fn-kafka-archiver/)]);
    // Only MSK specs declare the cluster variable.
    expect((json as unknown as { variable: Json }).variable.msk_cluster_arn).toBeUndefined();
  });

  it('gets an encrypted DLQ with an alarm, though it has no async config', () => {
    expect(one('aws_sqs_queue', 'name', 'laminar-dev-kafka-archiver-dlq').sqs_managed_sse_enabled).toBe(true);
    expect(one('aws_cloudwatch_metric_alarm', 'alarm_name', 'laminar-dev-kafka-archiver-dlq-not-empty').dimensions).toEqual({
      QueueName: ref('aws_sqs_queue', 'name', 'laminar-dev-kafka-archiver-dlq', 'name'),
    });
    expect(
      resourcesOf(json, 'aws_lambda_function_event_invoke_config').filter((c) => JSON.stringify(c).includes('kafka-archiver')),
    ).toEqual([]);
  });

  it('role: its two prefixes, its secret, its DLQ — nothing else', () => {
    const lake = LAKE_ARN();
    const secret = Object.keys(data('aws_secretsmanager_secret'))[0];
    const statements = policyOf('laminar-dev-kafka-archiver').Statement.slice(1);
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['s3:PutObject'], Resource: [`${lake}/bronze/*.jsonl`] },
      { Effect: 'Allow', Action: ['s3:PutObject'], Resource: [`${lake}/quarantine/kafka/*.jsonl`] },
      { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [ref('aws_sqs_queue', 'name', 'laminar-dev-kafka-archiver-dlq', 'arn')] },
      { Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: [`\${data.aws_secretsmanager_secret.${secret}.arn}`] },
    ]);
  });
});

describe('least privilege across the stack', () => {
  it('no wildcard action, no bare "*" resource, every resource an exact reference', () => {
    const policies = resourcesOf(json, 'aws_iam_role_policy');
    expect(policies).toHaveLength(3);
    for (const p of policies) {
      for (const s of (JSON.parse(p.policy as string) as PolicyDocument).Statement) {
        for (const a of s.Action) expect(a).not.toContain('*');
        for (const r of s.Resource) expect(r).toMatch(/^\$\{(aws_[a-z0-9_]+|data\.aws_[a-z0-9_]+)\.[^}]+\.arn\}(:\*|\/[\w/-]+\*(\.\w+)?)?$/);
      }
    }
  });
});

describe('Amazon MSK trigger', () => {
  const mskReader = defineFunction({
    name: 'msk-reader',
    memoryMb: 256,
    timeoutS: 60,
    triggers: [
      { kind: 'kafka', topics: ['orders'], cluster: { kind: 'msk' } },
      { kind: 'kafka', topics: ['refunds'], cluster: { kind: 'self-managed', auth: 'SASL_SCRAM_512_AUTH', secret: 'scram' }, startingPosition: 'LATEST' },
    ],
  });
  let msk: StackJson;
  beforeAll(() => {
    const root = fakeRoot();
    msk = synthInto(root, [fakeArtifact(root, mskReader)]).json(STACK);
  });

  it('maps the cluster from the msk_cluster_arn variable, with IAM auth and its own consumer group', () => {
    const mappings = resourcesOf(msk, 'aws_lambda_event_source_mapping');
    expect(mappings).toHaveLength(2);
    const [viaMsk, selfManaged] = mappings as [Json, Json];
    expect(viaMsk).toMatchObject({
      event_source_arn: '${var.msk_cluster_arn}',
      topics: ['dev.orders'],
      amazon_managed_kafka_event_source_config: { consumer_group_id: 'laminar-dev-msk-reader.dev.orders' },
      destination_config: { on_failure: { destination_arn: expect.stringMatching(/^\$\{aws_sqs_queue\.fn-msk-reader_dlq[\w-]*\.arn\}$/) } },
    });
    expect(viaMsk.source_access_configuration).toBeUndefined();
    expect(viaMsk.self_managed_event_source).toBeUndefined();
    // A function's later Kafka triggers get groups of their own (`-2`); the first, the function's name.
    expect(selfManaged).toMatchObject({
      starting_position: 'LATEST',
      source_access_configuration: [{ type: 'SASL_SCRAM_512_AUTH' }],
      self_managed_kafka_event_source_config: { consumer_group_id: 'laminar-dev-msk-reader-2.dev.refunds' },
    });
    const variable = (msk as unknown as { variable: Record<string, Json> }).variable.msk_cluster_arn;
    expect(variable).toMatchObject({ type: 'string', nullable: false });
  });

  it('grants the MSK read actions on the cluster, its topics and the group; EC2 ENI calls alone on "*"', () => {
    const policy = JSON.parse(resourcesOf(msk, 'aws_iam_role_policy')[0]?.policy as string) as PolicyDocument;
    expect(policy.Statement).toEqual(
      expect.arrayContaining([
        {
          Effect: 'Allow',
          Action: ['kafka:DescribeClusterV2', 'kafka:GetBootstrapBrokers', 'kafka-cluster:Connect', 'kafka-cluster:DescribeClusterDynamicConfiguration'],
          Resource: ['${var.msk_cluster_arn}'],
        },
        { Effect: 'Allow', Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'], Resource: ['${local.msk_topic_arn_prefix}/dev.orders'] },
        {
          Effect: 'Allow',
          Action: ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'],
          Resource: ['${local.msk_group_arn_prefix}/laminar-dev-msk-reader.dev.orders'],
        },
      ]),
    );
    for (const s of policy.Statement) {
      for (const a of s.Action) expect(a).not.toContain('*');
      if (s.Resource.includes('*')) expect(s.Action.every((a) => a.startsWith('ec2:'))).toBe(true);
    }
    expect((msk as unknown as { locals: Record<string, string> }).locals).toEqual({
      msk_topic_arn_prefix: '${replace(var.msk_cluster_arn, ":cluster/", ":topic/")}',
      msk_group_arn_prefix: '${replace(var.msk_cluster_arn, ":cluster/", ":group/")}',
    });
  });
});

describe('a Kafka trigger’s topics coming and going', () => {
  const reader = (topics: string[]) =>
    defineFunction({
      name: 'reader',
      memoryMb: 256,
      timeoutS: 60,
      triggers: [{ kind: 'kafka', topics, cluster: { kind: 'self-managed', auth: 'BASIC_AUTH', secret: 'creds' } }],
    });
  /** Each mapping of the synthesized stack by its topic: its Terraform address and consumer group. */
  const mappings = (topics: string[]) => {
    const root = fakeRoot();
    const stack = synthInto(root, [fakeArtifact(root, reader(topics))]).json(STACK);
    return Object.fromEntries(
      Object.entries(stack.resource.aws_lambda_event_source_mapping ?? {}).map(([address, m]) => [
        (m.topics as string[])[0],
        { address, group: (m.self_managed_kafka_event_source_config as Json).consumer_group_id },
      ]),
    );
  };

  it('leave every other topic’s mapping as it was: its address and its consumer group, where its offsets are', () => {
    const one = mappings(['orders']);
    const two = mappings(['orders', 'refunds']);
    // A trigger's only topic is named as one of several would be: adding a second renames nothing
    // (a renamed group would read the topic again from TRIM_HORIZON, and the lake would get it twice).
    expect(one).toEqual({ 'dev.orders': { address: expect.stringMatching(/^fn-reader_kafka-0-dev-orders_/), group: 'laminar-dev-reader.dev.orders' } });
    expect(two['dev.orders']).toEqual(one['dev.orders']);
    expect(two['dev.refunds']).toEqual({ address: expect.stringMatching(/^fn-reader_kafka-0-dev-refunds_/), group: 'laminar-dev-reader.dev.refunds' });
    // And removing the first leaves the second where it was.
    expect(mappings(['refunds'])).toEqual({ 'dev.refunds': two['dev.refunds'] });
  });
});

describe('determinism', () => {
  it('a second synth of the stream specs, in another folder, gives the same bytes', async () => {
    const other = fakeRoot();
    expect(synthInto(other, await streams(other)).raw(STACK)).toBe(raw);
  });
});
