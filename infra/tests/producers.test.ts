import { beforeAll, describe, expect, it } from 'vitest';
import type { PolicyDocument } from '../src/policy.ts';
import { fakeRoot, producers, resourcesOf, type StackJson, synthInto, synthWarnings } from './fixtures.ts';

const STACK = 'laminar-dev';
let json: StackJson;
let raw: string;
let outdir: string;

beforeAll(async () => {
  const root = fakeRoot();
  const { specs, layers } = await producers(root);
  const synth = synthInto(root, specs, {}, layers);
  json = synth.json(STACK);
  raw = synth.raw(STACK);
  outdir = synth.outdir;
});

const one = (type: string, key: string, value: string) => {
  const found = resourcesOf(json, type).filter((r) => r[key] === value);
  expect(found, `${type} ${key}=${value}`).toHaveLength(1);
  return found[0] as Record<string, unknown>;
};
const idOf = (type: string, key: string, value: string) => {
  const entries = Object.entries(json.resource[type] ?? {}).filter(([, r]) => r[key] === value);
  expect(entries).toHaveLength(1);
  return (entries[0] as [string, unknown])[0];
};

describe('Kafka producers', () => {
  it('run nodejs22.x, the Node their layer is compiled for, with no warning about a runtime Lambda refuses', () => {
    const warnings = synthWarnings(outdir);
    expect(warnings.filter((w) => /producer/.test(w))).toEqual([]);
    for (const name of ['rss-producer', 'polymarket-producer']) expect(one('aws_lambda_function', 'function_name', `laminar-dev-${name}`).runtime).toBe('nodejs22.x');
  });

  it('publishes the Kafka layer once, for x86_64 and the Node runtime it was compiled for', () => {
    const layer = one('aws_lambda_layer_version', 'layer_name', 'laminar-dev-kafka-layer');
    expect(layer).toMatchObject({
      compatible_architectures: ['x86_64'],
      compatible_runtimes: ['nodejs22.x'],
      filename: '${path.module}/../../../../layers/kafka-layer/dist/kafka-layer.zip',
      source_code_hash: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/),
    });
  });

  it('builds both producers with the layer, 300 s, 256 MB, on x86_64, from their specs', () => {
    const layerArn = `\${aws_lambda_layer_version.${idOf('aws_lambda_layer_version', 'layer_name', 'laminar-dev-kafka-layer')}.arn}`;
    for (const name of ['rss-producer', 'polymarket-producer']) {
      const fn = one('aws_lambda_function', 'function_name', `laminar-dev-${name}`);
      expect(fn).toMatchObject({ timeout: 300, memory_size: 256, architectures: ['x86_64'], layers: [layerArn] });
      const env = (fn.environment as { variables: Record<string, string> }).variables;
      expect(env.KAFKA_TOPIC).toMatch(/^dev\.(rss-items|polymarket-prices)$/);
      expect(env.KAFKA_BOOTSTRAP_SERVERS).toBe('${var.kafka_bootstrap_servers}');
      expect(env.KAFKA_CREDENTIALS_SECRET_ARN).toMatch(/^\$\{data\.aws_secretsmanager_secret\.[\w-]+\.arn\}$/);
      expect(env.DEDUP_TABLE).toBe(`laminar-dev-${name === 'rss-producer' ? 'rss' : 'polymarket'}-dedup`);
      // The local override never reaches AWS.
      expect(env.KAFKA_SECURITY_PROTOCOL).toBe('SASL_SSL');
    }
  });

  it('creates the dedup tables on demand, with TTL, point-in-time recovery and encryption', () => {
    for (const t of ['laminar-dev-rss-dedup', 'laminar-dev-polymarket-dedup']) {
      expect(one('aws_dynamodb_table', 'name', t)).toMatchObject({
        billing_mode: 'PAY_PER_REQUEST',
        hash_key: 'pk',
        attribute: [{ name: 'pk', type: 'S' }],
        ttl: { attribute_name: 'expiresAt', enabled: true },
        point_in_time_recovery: { enabled: true },
        server_side_encryption: { enabled: true },
      });
    }
  });

  it('grants each producer its own table and the Kafka secret, nothing more', () => {
    const policy = JSON.parse(one('aws_iam_role_policy', 'name', 'laminar-dev-rss-producer').policy as string) as PolicyDocument;
    const table = `\${aws_dynamodb_table.${idOf('aws_dynamodb_table', 'name', 'laminar-dev-rss-dedup')}.arn}`;
    const secret = Object.keys((json as unknown as { data: Record<string, Record<string, unknown>> }).data.aws_secretsmanager_secret ?? {});
    expect(secret).toHaveLength(1);
    expect(policy.Statement).toContainEqual({
      Effect: 'Allow',
      // UpdateItem: @laminar/dedup renews the expiry of items still seen.
      Action: ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      Resource: [table],
    });
    expect(policy.Statement).toContainEqual({
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue'],
      Resource: [`\${data.aws_secretsmanager_secret.${secret[0]}.arn}`],
    });
    expect(raw).toContain('"name": "laminar/dev/kafka-credentials"');
    for (const s of policy.Statement) {
      expect(s.Action.some((a) => a.includes('*'))).toBe(false);
      expect(s.Resource).not.toContain('*');
      expect(JSON.stringify(s.Resource)).not.toContain('polymarket');
    }
    const polymarket = JSON.parse(one('aws_iam_role_policy', 'name', 'laminar-dev-polymarket-producer').policy as string) as PolicyDocument;
    expect(polymarket.Statement).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      Resource: [`\${aws_dynamodb_table.${idOf('aws_dynamodb_table', 'name', 'laminar-dev-polymarket-dedup')}.arn}`],
    });
  });

  it('schedules each producer from its spec, asynchronously with a DLQ', () => {
    expect(one('aws_cloudwatch_event_rule', 'name', 'laminar-dev-rss-producer-schedule-0').schedule_expression).toBe('rate(15 minutes)');
    expect(one('aws_cloudwatch_event_rule', 'name', 'laminar-dev-polymarket-producer-schedule-0').schedule_expression).toBe('rate(5 minutes)');
    const configs = resourcesOf(json, 'aws_lambda_function_event_invoke_config');
    expect(configs).toHaveLength(2);
    for (const c of configs) expect(c).toMatchObject({ maximum_retry_attempts: 2, maximum_event_age_in_seconds: 3600 });
  });

  it('asks for the bootstrap servers at plan time unless given at synth', async () => {
    expect((json as unknown as { variable: Record<string, unknown> }).variable.kafka_bootstrap_servers).toMatchObject({ type: 'string' });
    const root = fakeRoot();
    const { specs, layers } = await producers(root);
    const fixed = synthInto(root, specs, { settings: { kafkaBootstrapServers: 'pkc-1.eu-west-1.aws.confluent.cloud:9092' } }, layers);
    const fn = resourcesOf(fixed.json(STACK), 'aws_lambda_function')[0] as { environment: { variables: Record<string, string> } };
    expect(fn.environment.variables.KAFKA_BOOTSTRAP_SERVERS).toBe('pkc-1.eu-west-1.aws.confluent.cloud:9092');
  });
});
