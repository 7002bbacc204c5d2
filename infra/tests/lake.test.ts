import { beforeAll, describe, expect, it } from 'vitest';
import { defineFunction, s3EventPattern } from '@laminar/spec';
import { ALARM_DESCRIPTION_BYTES, fitDescription, RULE_DESCRIPTION_BYTES } from '../src/descriptions.ts';
import type { PolicyDocument } from '../src/policy.ts';
import { fakeArtifact, fakeRoot, lake, resourcesOf, type StackJson, synthInto, synthWarnings, undeliveredLostAlarm } from './fixtures.ts';

let json: StackJson;
let raw: string;
let outdir: string;

beforeAll(async () => {
  const root = fakeRoot();
  const { specs, queues } = await lake(root);
  const synth = synthInto(root, specs, {}, [], queues);
  raw = synth.raw('laminar-dev');
  json = synth.json('laminar-dev');
  outdir = synth.outdir;
});

const all = (type: string) => resourcesOf(json, type);
const one = (type: string, key: string, value: string) => {
  const found = Object.values(json.resource[type] ?? {}).filter((r) => r[key] === value);
  expect(found, `${type} ${key}=${value}`).toHaveLength(1);
  return found[0] as Record<string, unknown>;
};
const idOf = (type: string, key: string, value: string) => {
  const entries = Object.entries(json.resource[type] ?? {}).filter(([, r]) => r[key] === value);
  expect(entries, `${type} ${key}=${value}`).toHaveLength(1);
  return (entries[0] as [string, unknown])[0];
};
const ref = (type: string, key: string, value: string, attr: string) => `\${${type}.${idOf(type, key, value)}.${attr}}`;

describe('bronze → silver fan-out', () => {
  it('warns at synth about no runtime: every function of the lake runs nodejs22.x', () => {
    expect(synthWarnings(outdir)).toEqual([]);
    for (const name of ['csv-validator', 'object-audit']) expect(one('aws_lambda_function', 'function_name', `laminar-dev-${name}`).runtime).toBe('nodejs22.x');
  });

  it('warns at synth, per function, about one still on nodejs20.x, which Lambda no longer deploys', async () => {
    const root = fakeRoot();
    const { specs, queues } = await lake(root);
    const back = specs.map((l) => (l.spec.name === 'csv-validator' ? { ...l, spec: { ...l.spec, runtime: 'nodejs20.x' as const } } : l));
    const warnings = synthWarnings(synthInto(root, back, {}, [], queues).outdir);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^csv-validator runs nodejs20.x, on which Lambda no longer creates or updates functions/);
  });

  it('sends the lake bucket’s events to EventBridge', () => {
    const notifications = all('aws_s3_bucket_notification');
    expect(notifications).toHaveLength(1);
    expect(notifications[0]).toMatchObject({ bucket: ref('aws_s3_bucket', 'bucket', 'laminar-dev-lake', 'id'), eventbridge: true });
  });

  it('routes one upload to three targets through one rule', () => {
    const rules = all('aws_cloudwatch_event_rule');
    expect(rules).toHaveLength(1);
    const rule = rules[0] as { name: string; event_pattern: string };
    expect(JSON.parse(rule.event_pattern)).toEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      // .csv and .CSV: one wildcard per spelling (EventBridge's wildcard is case-sensitive).
      detail: { bucket: { name: ['laminar-dev-lake'] }, object: { key: [{ wildcard: 'bronze/*.csv' }, { wildcard: 'bronze/*.CSV' }] } },
    });
    const ruleName = ref('aws_cloudwatch_event_rule', 'name', rule.name, 'name');
    const targets = all('aws_cloudwatch_event_target');
    expect(targets.map((t) => t.rule)).toEqual([ruleName, ruleName, ruleName]);
    expect(targets.map((t) => t.arn).sort()).toEqual(
      [
        ref('aws_lambda_function', 'function_name', 'laminar-dev-csv-validator', 'arn'),
        ref('aws_lambda_function', 'function_name', 'laminar-dev-object-audit', 'arn'),
        ref('aws_sqs_queue', 'name', 'laminar-dev-bronze-arrivals', 'arn'),
      ].sort(),
    );
    const permissions = all('aws_lambda_permission');
    expect(permissions).toHaveLength(2);
    for (const p of permissions) expect(p).toMatchObject({ principal: 'events.amazonaws.com', source_arn: ref('aws_cloudwatch_event_rule', 'name', rule.name, 'arn') });
    // Addresses carry the pattern's digest, as the rule's name does: another pattern added
    // before it in sort order moves nothing (positional ids made Terraform delete and recreate).
    const digest = rule.name.split('-').at(-1) as string;
    expect(idOf('aws_cloudwatch_event_rule', 'name', rule.name)).toMatch(new RegExp(`^route-${digest}_`));
    expect(idOf('aws_sqs_queue', 'name', `${rule.name}-undelivered`)).toMatch(new RegExp(`^route-${digest}_`));
  });

  it('keeps what EventBridge cannot deliver to a target in an encrypted queue of the rule, with an alarm', () => {
    const [rule] = all('aws_cloudwatch_event_rule') as { name: string }[];
    const name = (rule as { name: string }).name;
    const queueId = idOf('aws_sqs_queue', 'name', `${name}-undelivered`);
    const queueArn = `\${aws_sqs_queue.${queueId}.arn}`;
    expect(all('aws_sqs_queue').find((q) => q.name === `${name}-undelivered`)).toMatchObject({ sqs_managed_sse_enabled: true, message_retention_seconds: 14 * 86_400 });
    // Every target of the rule — both functions and the downstream queue.
    const targets = all('aws_cloudwatch_event_target');
    expect(targets).toHaveLength(3);
    for (const t of targets) expect(t).toMatchObject({ dead_letter_config: { arn: queueArn } });
    const policy = all('aws_sqs_queue_policy').find((p) => p.queue_url === `\${aws_sqs_queue.${queueId}.url}`) as { policy: string };
    expect(JSON.parse(policy.policy).Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queueArn,
        Condition: { ArnEquals: { 'aws:SourceArn': ref('aws_cloudwatch_event_rule', 'name', name, 'arn') } },
      }),
      { Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: 'sqs:*', Resource: queueArn, Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
    ]);
    expect(all('aws_cloudwatch_metric_alarm').find((a) => a.alarm_name === `${name}-undelivered-not-empty`)).toMatchObject({
      namespace: 'AWS/SQS',
      metric_name: 'ApproximateNumberOfMessagesVisible',
      dimensions: { QueueName: `\${aws_sqs_queue.${queueId}.name}` },
      threshold: 0,
    });
  });

  it('alarms on events that reached neither a target nor the rule’s queue: lost, and unseen by the queue’s alarms', () => {
    const rules = all('aws_cloudwatch_event_rule') as { name: string }[];
    expect(rules).toHaveLength(1);
    for (const { name } of rules) {
      expect(one('aws_cloudwatch_metric_alarm', 'alarm_name', `${name}-undelivered-lost`)).toMatchObject({
        ...undeliveredLostAlarm(ref('aws_cloudwatch_event_rule', 'name', name, 'name')),
        period: 300,
        // Counted per target: the rule's other targets may have had the event.
        alarm_description: expect.stringContaining('to one of its targets, nor put them in'),
        alarm_actions: [expect.stringMatching(/^\$\{aws_sns_topic\./)],
        ok_actions: [expect.stringMatching(/^\$\{aws_sns_topic\./)],
      });
    }
  });

  it('lets only that rule send to the encrypted downstream queue', () => {
    expect(all('aws_sqs_queue').every((q) => q.sqs_managed_sse_enabled === true)).toBe(true);
    const arrivals = `\${aws_sqs_queue.${idOf('aws_sqs_queue', 'name', 'laminar-dev-bronze-arrivals')}.url}`;
    const policy = all('aws_sqs_queue_policy').find((p) => p.queue_url === arrivals);
    const doc = JSON.parse((policy as { policy: string }).policy) as { Statement: Array<Record<string, unknown>> };
    expect(doc.Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Condition: { ArnEquals: { 'aws:SourceArn': [expect.stringMatching(/^\$\{aws_cloudwatch_event_rule\.[\w-]+\.arn\}$/)] } },
      }),
      expect.objectContaining({ Effect: 'Deny', Principal: '*', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    ]);
  });

  it('every queue refuses requests without TLS, a function\'s DLQ too', () => {
    const queues = all('aws_sqs_queue');
    expect(queues.length).toBeGreaterThan(2);
    for (const q of queues) {
      const id = idOf('aws_sqs_queue', 'name', String(q.name));
      const policies = all('aws_sqs_queue_policy').filter((p) => p.queue_url === `\${aws_sqs_queue.${id}.url}`) as { policy: string }[];
      expect(policies, String(q.name)).toHaveLength(1);
      expect(JSON.parse((policies[0] as { policy: string }).policy).Statement, String(q.name)).toContainEqual({ Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: 'sqs:*', Resource: `\${aws_sqs_queue.${id}.arn}`, Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
    }
  });

  it('alarms when a CSV is quarantined whole: the invocation succeeds, so no other alarm would', () => {
    expect(all('aws_cloudwatch_metric_alarm').find((a) => a.alarm_name === 'laminar-dev-csv-validator-files-rejected')).toMatchObject({
      namespace: 'Laminar',
      metric_name: 'FilesRejected',
      // This stage's files only: stages may share an account.
      dimensions: { service: 'csv-validator', stage: 'dev' },
      statistic: 'Sum',
      threshold: 0,
      comparison_operator: 'GreaterThanThreshold',
      period: 300,
      treat_missing_data: 'notBreaching',
    });
  });

  it('gives each async function two retries, an encrypted DLQ and an alarm on it', () => {
    const configs = all('aws_lambda_function_event_invoke_config');
    expect(configs).toHaveLength(2);
    for (const c of configs) {
      expect(c).toMatchObject({ maximum_retry_attempts: 2, maximum_event_age_in_seconds: 3600 });
      expect((c.destination_config as { on_failure: { destination: string } }).on_failure.destination).toMatch(/^\$\{aws_sqs_queue\.[\w-]*dlq[\w-]*\.arn\}$/);
    }
    const dlqAlarms = all('aws_cloudwatch_metric_alarm').filter((a) => a.namespace === 'AWS/SQS' && String(a.alarm_name).endsWith('-dlq-not-empty'));
    expect(dlqAlarms.map((a) => a.alarm_name).sort()).toEqual([
      'laminar-dev-csv-validator-dlq-not-empty',
      'laminar-dev-object-audit-dlq-not-empty',
    ]);
  });

  it('gives csv-validator the /tmp its spec asks for, and the other function Lambda\'s 512 MB, written out', () => {
    const fn = (name: string) => all('aws_lambda_function').find((f) => f.function_name === `laminar-dev-${name}`);
    expect(fn('csv-validator')?.ephemeral_storage).toEqual({ size: 10240 });
    expect(fn('object-audit')?.ephemeral_storage).toEqual({ size: 512 });
  });

  it('is deterministic: a second synth of the lake specs, in another folder, gives the same bytes', async () => {
    const other = fakeRoot();
    const { specs, queues } = await lake(other);
    expect(synthInto(other, specs, {}, [], queues).raw('laminar-dev')).toBe(raw);
  });

  it('creates the idempotency and ledger tables with their kinds’ keys', () => {
    expect(all('aws_dynamodb_table').find((t) => t.name === 'laminar-dev-csv-idempotency')).toMatchObject({
      hash_key: 'id',
      ttl: { attribute_name: 'expiration', enabled: true },
    });
    expect(all('aws_dynamodb_table').find((t) => t.name === 'laminar-dev-object-arrivals')).toMatchObject({
      hash_key: 'pk',
      range_key: 'sk',
      attribute: [
        { name: 'pk', type: 'S' },
        { name: 'sk', type: 'S' },
      ],
    });
  });

  it('lets csv-validator read bronze/ CSVs and its own manifests, and write silver/ and quarantine/ only', () => {
    const policy = JSON.parse(
      (all('aws_iam_role_policy').find((p) => p.name === 'laminar-dev-csv-validator') as { policy: string }).policy,
    ) as PolicyDocument;
    const bucket = ref('aws_s3_bucket', 'bucket', 'laminar-dev-lake', 'arn');
    const s3 = policy.Statement.filter((s) => s.Action.some((a) => a.startsWith('s3:')));
    expect(s3).toEqual([
      { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [bucket], Condition: { StringLike: { 's3:prefix': ['bronze/*'] } } },
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:GetObjectVersion'],
        Resource: [`${bucket}/bronze/*.csv`, `${bucket}/bronze/*.CSV`],
      },
      { Effect: 'Allow', Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Resource: [`${bucket}/silver/*`] },
      { Effect: 'Allow', Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Resource: [`${bucket}/quarantine/*`] },
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`${bucket}/silver/*/_manifest.json`] },
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`${bucket}/quarantine/*/_manifest.json`] },
    ]);
  });
});

describe('a long S3 prefix (the spec takes 1,024 characters)', () => {
  const bytes = (s: unknown) => Buffer.byteLength(String(s));
  /** The route of a function on a prefix of `length` characters, synthesized. */
  const route = (length: number) => {
    const prefix = 'deep/'.repeat(Math.ceil(length / 5)).slice(0, length);
    const spec = defineFunction({ name: 'deep-reader', memoryMb: 256, timeoutS: 30, triggers: [{ kind: 's3', bucket: 'lake', prefix, suffix: '.csv' }] });
    const root = fakeRoot();
    const stack = synthInto(root, [fakeArtifact(root, spec)]).json('laminar-dev');
    const [rule] = resourcesOf(stack, 'aws_cloudwatch_event_rule') as [{ name: string; description: string; event_pattern: string }];
    const alarms = resourcesOf(stack, 'aws_cloudwatch_metric_alarm');
    const ruleAlarms = alarms.filter((a) => String(a.alarm_name).startsWith(rule.name));
    expect(ruleAlarms.map((a) => String(a.alarm_name).slice(rule.name.length)).sort()).toEqual(['-undelivered-arrivals', '-undelivered-lost', '-undelivered-not-empty']);
    // Whatever is cut, the event pattern keeps the whole prefix: it is what matches.
    expect(JSON.parse(rule.event_pattern).detail.object.key).toEqual([{ wildcard: `${prefix}*.csv` }]);
    for (const a of alarms) expect(bytes(a.alarm_description), String(a.alarm_name)).toBeLessThanOrEqual(ALARM_DESCRIPTION_BYTES);
    return { prefix, rule, ruleAlarms };
  };

  it('of 600 characters is cut short in the rule’s description, which EventBridge caps at 512', () => {
    const { prefix, rule, ruleAlarms } = route(600);
    expect(bytes(rule.description)).toBeLessThanOrEqual(RULE_DESCRIPTION_BYTES);
    expect(rule.description).toMatch(/^Object Created in laminar-dev-lake matching deep\/deep\/.*…$/);
    // The alarms' 1,024 still take it whole.
    for (const a of ruleAlarms) expect(a.alarm_description).toContain(prefix);
  });

  it('of 1,024 characters is cut short in the alarms’ descriptions too, where the words saying what happened stay whole', () => {
    const { rule, ruleAlarms } = route(1024);
    expect(bytes(rule.description)).toBeLessThanOrEqual(RULE_DESCRIPTION_BYTES);
    for (const a of ruleAlarms) {
      expect(a.alarm_description).toContain('…');
      expect(a.alarm_description).toContain(`${rule.name}-undelivered`);
    }
  });

  it('whose encoded form passes the 4,096 characters of an event pattern is refused at synth: cut, the pattern would match other keys', () => {
    // "é" arrives as %C3%A9: 1,024 of them are 6,144 characters of pattern.
    const spec = defineFunction({ name: 'deep-reader', memoryMb: 256, timeoutS: 30, triggers: [{ kind: 's3', bucket: 'lake', prefix: 'é'.repeat(1024) }] });
    const root = fakeRoot();
    expect(() => synthInto(root, [fakeArtifact(root, spec)])).toThrow(/its EventBridge event pattern is \d+ characters .* EventBridge takes at most 4096: shorten the prefix/);
  });

  it('is cut by bytes, as the provider counts them, and never inside a character', () => {
    expect(fitDescription('short', 512)).toBe('short');
    // 300 "é" are 600 bytes: the provider refuses them as a 512-character description.
    const cut = fitDescription('é'.repeat(300), 512);
    expect(bytes(cut)).toBeLessThanOrEqual(512);
    expect(cut).toBe(`${'é'.repeat(254)}…`);
    // A character outside the BMP (a surrogate pair in JavaScript) is kept whole or left out.
    expect(fitDescription('😀'.repeat(200), 10)).toBe('😀…');
  });
});

describe('s3EventPattern', () => {
  it('uses prefix or suffix matchers alone, a wildcard for both, escaping literal stars', () => {
    const base = { bucket: 'lake', events: ['Object Created' as const] };
    expect(s3EventPattern('b', { ...base, prefix: 'in/', suffix: '' }).detail).toEqual({ bucket: { name: ['b'] }, object: { key: [{ prefix: 'in/' }] } });
    expect(s3EventPattern('b', { ...base, prefix: '', suffix: '.csv' }).detail).toEqual({ bucket: { name: ['b'] }, object: { key: [{ suffix: '.csv' }] } });
    expect(s3EventPattern('b', { ...base, prefix: '', suffix: '' }).detail).toEqual({ bucket: { name: ['b'] } });
    expect(s3EventPattern('b', { ...base, prefix: 'a*b/', suffix: '.csv' }).detail).toEqual({
      bucket: { name: ['b'] },
      object: { key: [{ wildcard: 'a\\*b/*.csv' }] },
    });
  });

  it('lists one matcher per spelling of a suffix also matched in upper case, each encoded as events carry it', () => {
    const base = { bucket: 'lake', events: ['Object Created' as const], alsoUpperCaseSuffix: true };
    expect(s3EventPattern('b', { ...base, prefix: '', suffix: '.gz' }).detail).toEqual({ bucket: { name: ['b'] }, object: { key: [{ suffix: '.gz' }, { suffix: '.GZ' }] } });
    // A "+" arrives as %2B: the escape's hex digit is S3's, not the key's, and keeps its case.
    expect(s3EventPattern('b', { ...base, prefix: 'in/', suffix: '+x' }).detail).toEqual({
      bucket: { name: ['b'] },
      object: { key: [{ wildcard: 'in/*%2Bx' }, { wildcard: 'in/*%2BX' }] },
    });
  });

  it('holds prefix and suffix encoded as S3 events carry keys (a Hive partition, a space)', () => {
    const base = { bucket: 'lake', events: ['Object Created' as const] };
    expect(s3EventPattern('b', { ...base, prefix: 'bronze/dt=2026-01-30/', suffix: ' final.csv' }).detail).toEqual({
      bucket: { name: ['b'] },
      object: { key: [{ wildcard: 'bronze/dt%3D2026-01-30/*+final.csv' }] },
    });
  });
});

describe('an on-success destination declared in a spec', () => {
  it('sends successful invocation records to the declared queue, which the role may send to', async () => {
    const root = fakeRoot();
    const { specs, queues } = await lake(root);
    const withSuccess = specs.map((l) =>
      l.spec.name === 'csv-validator' && l.spec.async ? { ...l, spec: { ...l.spec, async: { ...l.spec.async, onSuccess: { queue: 'bronze-arrivals' } } } } : l,
    );
    const stack = synthInto(root, withSuccess, {}, [], queues).json('laminar-dev');
    const of = (type: string) => resourcesOf(stack, type);
    const queueId = Object.entries(stack.resource.aws_sqs_queue ?? {}).find(([, q]) => q.name === 'laminar-dev-bronze-arrivals')?.[0];
    const fnId = Object.entries(stack.resource.aws_lambda_function ?? {}).find(([, f]) => f.function_name === 'laminar-dev-csv-validator')?.[0];
    const config = of('aws_lambda_function_event_invoke_config').find((c) => c.function_name === `\${aws_lambda_function.${fnId}.function_name}`);
    expect(config?.destination_config).toEqual({
      on_failure: { destination: expect.stringMatching(/^\$\{aws_sqs_queue\.[\w-]*dlq[\w-]*\.arn\}$/) },
      on_success: { destination: `\${aws_sqs_queue.${queueId}.arn}` },
    });
    const policy = JSON.parse((of('aws_iam_role_policy').find((p) => p.name === 'laminar-dev-csv-validator') as { policy: string }).policy) as PolicyDocument;
    expect(policy.Statement).toContainEqual({ Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [`\${aws_sqs_queue.${queueId}.arn}`] });
    // The other function keeps a failure destination only.
    const audit = of('aws_lambda_function_event_invoke_config').find((c) => c !== config);
    expect(Object.keys(audit?.destination_config as object)).toEqual(['on_failure']);
  });
});
