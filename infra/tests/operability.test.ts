import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  defineFunction,
  FUNCTION_ALARM_SUFFIXES,
  type FunctionSpec,
  type KafkaTrigger,
  loadAllLayers,
  loadAllQueues,
  loadAllSpecs,
  metricAlarmSuffix,
  SCHEDULE_LOST_ALARM_SUFFIX,
  worstCaseEnvironment,
} from '@laminar/spec';
import { beforeAll, describe, expect, it } from 'vitest';
import { settingsFromEnv } from '../src/config.ts';
import { DURATION_ALARM_FRACTION } from '../src/dashboard.ts';
import { fakeArtifact, fakeRoot, REPO_ROOT, resourcesOf, type StackJson, type Synthesized, synthInto, undeliveredLostAlarm } from './fixtures.ts';

type Json = Record<string, unknown>;
let specs: FunctionSpec[];
let synth: Synthesized;
let json: StackJson;

async function synthAll(settings = {}): Promise<Synthesized> {
  const root = fakeRoot();
  const [loaded, layers, queues] = await Promise.all([loadAllSpecs(REPO_ROOT), loadAllLayers(REPO_ROOT), loadAllQueues(REPO_ROOT)]);
  const fakeLayers = layers.map((l) => {
    const fake = fakeArtifact(root, { ...(loaded[0] as { spec: FunctionSpec }).spec, name: l.spec.name }, join(root, 'layers', l.spec.name));
    return { spec: l.spec, dir: fake.dir, zipPath: fake.zipPath, hashPath: fake.hashPath };
  });
  return synthInto(root, loaded.map((l) => fakeArtifact(root, l.spec)), settings, fakeLayers, queues);
}

beforeAll(async () => {
  specs = (await loadAllSpecs(REPO_ROOT)).map((l) => l.spec);
  synth = await synthAll();
  json = synth.json('laminar-dev');
});

const ids = (type: string) => Object.entries(json.resource[type] ?? {});
const one = (type: string, key: string, value: unknown): [string, Json] => {
  const found = ids(type).filter(([, r]) => r[key] === value);
  expect(found, `${type} ${key}=${String(value)}`).toHaveLength(1);
  return found[0] as [string, Json];
};
const ref = (type: string, key: string, value: unknown, attr: string) => `\${${type}.${one(type, key, value)[0]}.${attr}}`;
const TOPIC = () => ref('aws_sns_topic', 'name', 'laminar-dev-alarms', 'arn');

describe('alarm topic', () => {
  it('is laminar-<stage>-alarms, encrypted with the stage’s key by alias: the bootstrap stack creates the key, the stage stack creates none', () => {
    const [, topic] = one('aws_sns_topic', 'name', 'laminar-dev-alarms');
    expect(topic.kms_master_key_id).toBe('alias/laminar-dev-alarm-topic');
    // The deploy role has no KMS rights at all: the stack neither creates nor reads a key or an alias.
    for (const type of ['aws_kms_key', 'aws_kms_alias']) expect(ids(type), type).toEqual([]);
    expect(Object.keys((json as unknown as { data?: Json }).data ?? {}).filter((t) => t.startsWith('aws_kms_'))).toEqual([]);
  });

  it('lets only this stage’s alarms publish', () => {
    const [, policy] = one('aws_sns_topic_policy', 'arn', TOPIC());
    expect(JSON.parse(policy.policy as string).Statement).toEqual([
      {
        Sid: 'CloudWatchAlarmsPublish',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: TOPIC(),
        Condition: {
          StringEquals: { 'aws:SourceAccount': '${data.aws_caller_identity.caller.account_id}' },
          ArnLike: { 'aws:SourceArn': 'arn:${data.aws_partition.partition.partition}:cloudwatch:eu-west-1:${data.aws_caller_identity.caller.account_id}:alarm:laminar-dev-*' },
        },
      },
      // Nor anything without TLS (policy rule sns-tls-only).
      { Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: 'sns:Publish', Resource: TOPIC(), Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
    ]);
  });

  it('subscribes the alarm_email variable when it is not empty (default from LAMINAR_ALARM_EMAIL)', () => {
    const [, sub] = one('aws_sns_topic_subscription', 'protocol', 'email');
    expect(sub).toMatchObject({ count: '${var.alarm_email == "" ? 0 : 1}', endpoint: '${var.alarm_email}', topic_arn: TOPIC() });
    const variables = (json as unknown as { variable: Record<string, Json> }).variable;
    expect(variables.alarm_email).toMatchObject({ type: 'string', default: '', nullable: false });
    expect(settingsFromEnv({ LAMINAR_ALARM_EMAIL: 'ops@example.com' }).alarmEmail).toBe('ops@example.com');
  });

  it('takes the address from the stage setting as the variable default', async () => {
    const other = await synthAll({ alarmEmail: 'ops@example.com' });
    const variables = (other.json('laminar-dev') as unknown as { variable: Record<string, Json> }).variable;
    expect(variables.alarm_email?.default).toBe('ops@example.com');
  });
});

/** What every alarm on a function's AWS/Lambda metrics has: its dimension, missing data as OK, the topic. */
const lambdaAlarm = (name: string) => ({
  namespace: 'AWS/Lambda',
  dimensions: { FunctionName: ref('aws_lambda_function', 'function_name', name, 'function_name') },
  comparison_operator: 'GreaterThanThreshold',
  treat_missing_data: 'notBreaching',
  alarm_actions: [TOPIC()],
  ok_actions: [TOPIC()],
});

describe('alarms per function, from the specs', () => {
  it.each(['errors', 'throttles', 'duration-p95'])('every function has its %s alarm, notifying the topic on ALARM and OK', (kind) => {
    for (const spec of specs) {
      const name = `laminar-dev-${spec.name}`;
      const [, alarm] = one('aws_cloudwatch_metric_alarm', 'alarm_name', `${name}-${kind}`);
      expect(alarm).toMatchObject({ ...lambdaAlarm(name), period: 300, evaluation_periods: 1, tags: { function: spec.name } });
    }
  });

  it('errors > 0 and throttles > 0 over 5 minutes; p95 duration above 80 % of the timeout', () => {
    for (const spec of specs) {
      const name = `laminar-dev-${spec.name}`;
      expect(one('aws_cloudwatch_metric_alarm', 'alarm_name', `${name}-errors`)[1]).toMatchObject({ metric_name: 'Errors', statistic: 'Sum', threshold: 0 });
      expect(one('aws_cloudwatch_metric_alarm', 'alarm_name', `${name}-throttles`)[1]).toMatchObject({ metric_name: 'Throttles', statistic: 'Sum', threshold: 0 });
      const [, duration] = one('aws_cloudwatch_metric_alarm', 'alarm_name', `${name}-duration-p95`);
      expect(duration).toMatchObject({ metric_name: 'Duration', extended_statistic: 'p95', threshold: spec.timeoutS * 1000 * DURATION_ALARM_FRACTION });
      expect(duration.statistic).toBeUndefined();
    }
  });

  it('a function with a Kafka trigger alarms when its OffsetLag stays above the spec’s maxOffsetLag for 15 minutes', () => {
    const consumers = specs.filter((s) => s.triggers.some((t) => t.kind === 'kafka'));
    expect(consumers.map((s) => s.name)).toEqual(['kafka-archiver']);
    const lagAlarms = resourcesOf(json, 'aws_cloudwatch_metric_alarm').filter((a) => a.metric_name === 'OffsetLag');
    expect(lagAlarms).toHaveLength(consumers.length);
    const name = 'laminar-dev-kafka-archiver';
    expect(one('aws_cloudwatch_metric_alarm', 'alarm_name', `${name}-kafka-offset-lag`)[1]).toMatchObject({
      ...lambdaAlarm(name),
      statistic: 'Maximum',
      threshold: 10_000,
      period: 300,
      evaluation_periods: 3,
    });
  });

  it('a function with a Kafka trigger alarms when it goes maxIdleMinutes (default 60) without an invocation: a mapping that cannot poll reports nothing else', () => {
    const consumers = specs.filter((s) => s.triggers.some((t) => t.kind === 'kafka'));
    const idleAlarms = resourcesOf(json, 'aws_cloudwatch_metric_alarm').filter((a) => a.metric_name === 'Invocations');
    expect(idleAlarms.map((a) => a.alarm_name)).toEqual(consumers.map((s) => `laminar-dev-${s.name}-kafka-idle`));
    const name = 'laminar-dev-kafka-archiver';
    expect(one('aws_cloudwatch_metric_alarm', 'alarm_name', `${name}-kafka-idle`)[1]).toMatchObject({
      ...lambdaAlarm(name),
      metric_name: 'Invocations',
      statistic: 'Sum',
      // Fewer than one invocation in each of twelve 5-minute periods; no datapoint at all is the
      // usual form of that (Lambda sends none for a function not invoked), hence breaching.
      comparison_operator: 'LessThanThreshold',
      threshold: 1,
      period: 300,
      evaluation_periods: 12,
      treat_missing_data: 'breaching',
      tags: { function: 'kafka-archiver' },
    });
  });

  it('the idle alarm takes the shortest maxIdleMinutes of a function’s Kafka triggers, and an MSK consumer gets one too', async () => {
    const root = fakeRoot();
    const loaded = await loadAllSpecs(REPO_ROOT);
    const archiver = loaded.find((l) => l.spec.name === 'kafka-archiver')?.spec as FunctionSpec;
    const [first] = archiver.triggers as [KafkaTrigger];
    const spec = defineFunction({
      ...archiver,
      triggers: [
        { ...first, maxIdleMinutes: 240 },
        { ...first, topics: ['orders'], cluster: { kind: 'msk' }, maxIdleMinutes: 25 },
      ],
    });
    const other = synthInto(root, [fakeArtifact(root, spec)]);
    const alarms = resourcesOf(other.json('laminar-dev'), 'aws_cloudwatch_metric_alarm').filter((a) => a.metric_name === 'Invocations');
    expect(alarms).toHaveLength(1);
    expect(alarms[0]).toMatchObject({ alarm_name: 'laminar-dev-kafka-archiver-kafka-idle', period: 300, evaluation_periods: 5, treat_missing_data: 'breaching' });
  });

  it('a function with an async invoke config alarms when Lambda cannot deliver to its destination, and when it drops an event', () => {
    const configs = resourcesOf(json, 'aws_lambda_function_event_invoke_config');
    const async = specs.filter((s) => s.async);
    expect(configs).toHaveLength(async.length);
    expect(async.length).toBeGreaterThan(0);
    for (const spec of async) {
      const name = `laminar-dev-${spec.name}`;
      for (const [kind, metric] of [
        ['destination-failures', 'DestinationDeliveryFailures'],
        ['async-events-dropped', 'AsyncEventsDropped'],
      ] as const) {
        expect(one('aws_cloudwatch_metric_alarm', 'alarm_name', `${name}-${kind}`)[1]).toMatchObject({
          ...lambdaAlarm(name),
          metric_name: metric,
          statistic: 'Sum',
          threshold: 0,
          period: 300,
          evaluation_periods: 1,
          tags: { function: spec.name },
        });
      }
    }
    // AsyncEventsDropped only for those; DestinationDeliveryFailures for the Kafka consumers too (below).
    expect(resourcesOf(json, 'aws_cloudwatch_metric_alarm').filter((a) => a.metric_name === 'AsyncEventsDropped')).toHaveLength(async.length);
  });

  it('a function with a Kafka trigger alarms when Lambda cannot send a failed batch’s record to the DLQ, its mappings’ on-failure destination', () => {
    const consumers = specs.filter((s) => s.triggers.some((t) => t.kind === 'kafka'));
    expect(consumers.length).toBeGreaterThan(0);
    for (const spec of consumers) {
      const name = `laminar-dev-${spec.name}`;
      const [, alarm] = one('aws_cloudwatch_metric_alarm', 'alarm_name', `${name}-destination-failures`);
      expect(alarm).toMatchObject({
        ...lambdaAlarm(name),
        metric_name: 'DestinationDeliveryFailures',
        statistic: 'Sum',
        threshold: 0,
        period: 300,
        evaluation_periods: 1,
        tags: { function: spec.name },
      });
      expect(alarm.alarm_description).toContain(`${name}-dlq`);
    }
    // Those and the async functions, no other: only they have a destination to fail.
    const withDestination = specs.filter((s) => s.async || consumers.includes(s)).map((s) => `laminar-dev-${s.name}-destination-failures`);
    expect(resourcesOf(json, 'aws_cloudwatch_metric_alarm').filter((a) => a.metric_name === 'DestinationDeliveryFailures').map((a) => a.alarm_name).sort()).toEqual(withDestination.sort());
  });

  it('every EventBridge rule, an S3 pattern’s or a schedule’s, alarms when an event reached neither a target nor its -undelivered queue', () => {
    const rules = resourcesOf(json, 'aws_cloudwatch_event_rule');
    expect(rules.some((r) => String(r.name).includes('-s3-'))).toBe(true);
    expect(rules.some((r) => r.schedule_expression)).toBe(true);
    const lost = resourcesOf(json, 'aws_cloudwatch_metric_alarm').filter((a) => a.metric_name === 'InvocationsFailedToBeSentToDlq');
    expect(lost.map((a) => a.alarm_name).sort()).toEqual(rules.map((r) => `${r.name}-undelivered-lost`).sort());
    for (const rule of rules) {
      const [, alarm] = one('aws_cloudwatch_metric_alarm', 'alarm_name', `${rule.name}-undelivered-lost`);
      expect(alarm).toMatchObject({
        ...undeliveredLostAlarm(ref('aws_cloudwatch_event_rule', 'name', rule.name, 'name')),
        period: 300,
        evaluation_periods: 1,
        alarm_actions: [TOPIC()],
        ok_actions: [TOPIC()],
      });
    }
  });

  it('DLQ alarms notify the topic as well', () => {
    const queueAlarms = resourcesOf(json, 'aws_cloudwatch_metric_alarm').filter((a) => a.namespace === 'AWS/SQS');
    const dlqAlarms = queueAlarms.filter((a) => String(a.alarm_name).endsWith('-dlq-not-empty'));
    expect(dlqAlarms.length).toBe(specs.filter((s) => s.async?.onFailure === 'dlq' || s.triggers.some((t) => t.kind === 'kafka')).length);
    for (const a of queueAlarms.filter((q) => String(q.alarm_name).endsWith('-not-empty'))) expect(a.treat_missing_data, String(a.alarm_name)).toBe('ignore');
    // And two per S3 event rule, on the events it could not deliver: one while any wait, one on each new one.
    const s3Rules = resourcesOf(json, 'aws_cloudwatch_event_rule').filter((r) => String(r.name).includes('-s3-'));
    for (const suffix of ['-undelivered-not-empty', '-undelivered-arrivals']) {
      const undelivered = queueAlarms.filter((a) => String(a.alarm_name).endsWith(suffix) && !String(a.alarm_name).includes('-schedule-'));
      expect(undelivered.map((a) => a.alarm_name).sort()).toEqual(s3Rules.map((r) => `${r.name}${suffix}`).sort());
    }
    // And two per function with schedules, on the firings EventBridge could not deliver.
    const scheduled = specs.filter((s) => s.triggers.some((t) => t.kind === 'schedule'));
    for (const suffix of ['-schedule-undelivered-not-empty', '-schedule-undelivered-arrivals']) {
      const schedules = queueAlarms.filter((a) => String(a.alarm_name).endsWith(suffix));
      expect(schedules.map((a) => a.alarm_name).sort()).toEqual(scheduled.map((s) => `laminar-dev-${s.name}${suffix}`).sort());
    }
    // And one per declared queue, on its oldest message's age.
    const ageAlarms = queueAlarms.filter((a) => String(a.alarm_name).endsWith('-oldest-message-age'));
    expect(ageAlarms.map((a) => a.alarm_name)).toEqual(['laminar-dev-bronze-arrivals-oldest-message-age', 'laminar-dev-pdf-manifest-results-oldest-message-age']);
    expect(dlqAlarms.length + 2 * s3Rules.length + 2 * scheduled.length + ageAlarms.length).toBe(queueAlarms.length);
    for (const a of queueAlarms) expect(a).toMatchObject({ alarm_actions: [TOPIC()], ok_actions: [TOPIC()] });
  });

  it('a declared queue alarms once its oldest message has waited half its retention: SQS deletes it unread at the end', () => {
    const [queue] = resourcesOf(json, 'aws_sqs_queue').filter((q) => q.name === 'laminar-dev-bronze-arrivals');
    expect(queue?.message_retention_seconds).toBe(4 * 86_400);
    const [alarm] = resourcesOf(json, 'aws_cloudwatch_metric_alarm').filter((a) => a.alarm_name === 'laminar-dev-bronze-arrivals-oldest-message-age');
    expect(alarm).toMatchObject({
      namespace: 'AWS/SQS',
      metric_name: 'ApproximateAgeOfOldestMessage',
      dimensions: { QueueName: 'laminar-dev-bronze-arrivals' },
      statistic: 'Maximum',
      threshold: 2 * 86_400,
      comparison_operator: 'GreaterThanThreshold',
      treat_missing_data: 'notBreaching',
    });
  });

  it('an undelivered-events queue alarms on each new arrival as well as while it holds any: it keeps them 14 days', () => {
    const queueAlarms = resourcesOf(json, 'aws_cloudwatch_metric_alarm').filter((a) => a.namespace === 'AWS/SQS');
    const undeliveredQueues = resourcesOf(json, 'aws_sqs_queue').filter((q) => String(q.name).endsWith('-undelivered'));
    expect(undeliveredQueues.length).toBeGreaterThan(0);
    for (const q of undeliveredQueues) {
      const queueName = ref('aws_sqs_queue', 'name', q.name, 'name');
      const on = queueAlarms.filter((a) => (a.dimensions as Json).QueueName === queueName);
      expect(on.map((a) => a.alarm_name).sort()).toEqual([`${q.name}-arrivals`, `${q.name}-not-empty`]);
      // Not-empty: the Maximum depth, which stays above 0 until someone drains the queue.
      // Missing data keeps its state: SQS may stop a queue's metrics after six idle hours, and an OK
      // then would say drained while the messages wait.
      expect(on.find((a) => a.alarm_name === `${q.name}-not-empty`)).toMatchObject({ metric_name: 'ApproximateNumberOfMessagesVisible', statistic: 'Maximum', treat_missing_data: 'ignore' });
      // Arrivals: what EventBridge sent in the last 5 minutes (SendMessage, which NumberOfMessagesSent
      // counts), back to OK when 5 minutes pass without one, so the next failure notifies again.
      expect(on.find((a) => a.alarm_name === `${q.name}-arrivals`)).toMatchObject({
        namespace: 'AWS/SQS',
        metric_name: 'NumberOfMessagesSent',
        statistic: 'Sum',
        period: 300,
        evaluation_periods: 1,
        threshold: 0,
        comparison_operator: 'GreaterThanThreshold',
        treat_missing_data: 'notBreaching',
        alarm_actions: [TOPIC()],
        ok_actions: [TOPIC()],
      });
    }
  });

  it('every alarm of the stack is named laminar-<stage>-… (the topic and key policies match that prefix)', () => {
    for (const a of resourcesOf(json, 'aws_cloudwatch_metric_alarm')) expect(a.alarm_name).toMatch(/^laminar-dev-/);
  });

  it('a function\'s own alarms are named from the list the spec keeps its metric alarms off (FUNCTION_ALARM_SUFFIXES)', () => {
    for (const spec of specs) {
      const prefix = `laminar-dev-${spec.name}-`;
      const own = resourcesOf(json, 'aws_cloudwatch_metric_alarm').filter((a) => (a.tags as Json | undefined)?.function === spec.name && !(a.tags as Json).delivery_stream);
      const metricSuffixes = spec.metricAlarms.map((m) => metricAlarmSuffix(m.metric));
      for (const a of own) {
        const name = a.alarm_name as string;
        expect(name.startsWith(prefix), name).toBe(true);
        const suffix = name.slice(prefix.length);
        const known = (FUNCTION_ALARM_SUFFIXES as readonly string[]).includes(suffix) || SCHEDULE_LOST_ALARM_SUFFIX.test(suffix) || metricSuffixes.includes(suffix);
        expect(known, `${name}: add its suffix to FUNCTION_ALARM_SUFFIXES (@laminar/spec)`).toBe(true);
      }
    }
  });

  it('no two alarms of the stack share a name: PutMetricAlarm would replace one with the other', () => {
    const names = resourcesOf(json, 'aws_cloudwatch_metric_alarm').map((a) => a.alarm_name as string);
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);
  });

  it('refuses at synth two alarms of one name across functions, naming both: function csv\'s ValidatorErrors and csv-validator\'s errors', () => {
    const root = fakeRoot();
    const validator = defineFunction({ name: 'csv-validator', memoryMb: 256, timeoutS: 30, triggers: [{ kind: 'invoke' }] });
    const csv = defineFunction({
      name: 'csv',
      memoryMb: 256,
      timeoutS: 30,
      triggers: [{ kind: 'invoke' }],
      env: { POWERTOOLS_METRICS_NAMESPACE: 'Laminar', POWERTOOLS_SERVICE_NAME: 'csv' },
      metrics: ['ValidatorErrors'],
      metricAlarms: [{ metric: 'ValidatorErrors', description: 'the validator failed' }],
    });
    expect(() => synthInto(root, [fakeArtifact(root, validator), fakeArtifact(root, csv)])).toThrow(
      'two alarms are named laminar-dev-csv-validator-errors: laminar-dev/fn-csv/metric-ValidatorErrors-alarm (Laminar ValidatorErrors) and laminar-dev/fn-csv-validator/errors-alarm (AWS/Lambda Errors). CloudWatch keeps one alarm per name (PutMetricAlarm replaces it), so one would be lost: rename the function or the metric alarm\'s metric',
    );
  });
});

describe('function environments', () => {
  const variables = (j: StackJson, fn: string) =>
    resourcesOf(j, 'aws_lambda_function').find((f) => f.function_name === `laminar-dev-${fn}`)?.environment as { variables: Record<string, string> } | undefined;

  // The spec's 4 KB check counts what worstCaseEnvironment names: every variable infra sets must be
  // in it, no longer there than on the stage (the ARNs of secrets are references until apply).
  const expectCounted = (j: StackJson, spec: FunctionSpec) => {
    const deployed = variables(j, spec.name)?.variables ?? {};
    const counted = worstCaseEnvironment(spec);
    expect(Object.keys(deployed).sort(), spec.name).toEqual(Object.keys(counted).sort());
    for (const [k, v] of Object.entries(deployed)) {
      if (!v.includes('${')) expect(v.length, `${spec.name} ${k}`).toBeLessThanOrEqual((counted[k] as string).length);
    }
  };

  it('every variable infra sets on a real function is counted in its spec\'s 4 KB check, at no less than its length', () => {
    for (const spec of specs) expectCounted(json, spec);
  });

  it('so are secrets (Secrets Manager and SSM), every kind of reference, and a spec\'s own NODE_OPTIONS', () => {
    const root = fakeRoot();
    const spec = defineFunction({
      name: 'env-check',
      memoryMb: 256,
      timeoutS: 30,
      triggers: [{ kind: 'invoke' }],
      env: {
        NODE_OPTIONS: '--max-semi-space-size=8',
        DOCS: { ref: { bucket: 'documents' } },
        SEEN: { ref: { table: 'seen' } },
        ITEMS: { ref: { topic: 'items' } },
        EVENTS: { ref: { deliveryStream: 'events' } },
        SERVERS: { ref: { setting: 'kafkaBootstrapServers' } },
      },
      secrets: [
        { name: 'FEED_KEY_ARN', from: 'secretsmanager', id: 'feed-key' },
        { name: 'FEED_PARAM', from: 'ssm', id: 'feed-param' },
      ],
      tables: [{ name: 'seen', kind: 'dedup' }],
      deliveryStreams: [{ name: 'events', bucket: 'lake', prefix: 'events/', errorOutputPrefix: 'errors/!{firehose:error-output-type}/' }],
    });
    const other = synthInto(root, [fakeArtifact(root, spec)], { bucketSuffix: 'acme-1234', settings: { kafkaBootstrapServers: 'b-1.example:9098,b-2.example:9098' } }).json('laminar-dev');
    expect(variables(other, 'env-check')?.variables).toMatchObject({ FEED_PARAM: '/laminar/dev/feed-param', DOCS: 'laminar-dev-documents-acme-1234', LAMINAR_STAGE: 'dev' });
    expectCounted(other, spec);
  });
});

interface Widget {
  type: string;
  x: number;
  y: number;
  width: number;
  height: number;
  properties: { title?: string; markdown?: string; stat?: string; metrics?: unknown[][]; region?: string; annotations?: { horizontal: Array<{ value: number }> } };
}

describe('dashboard', () => {
  const body = () => {
    const [, dashboard] = one('aws_cloudwatch_dashboard', 'dashboard_name', 'laminar-dev-functions');
    return JSON.parse(dashboard.dashboard_body as string) as { widgets: Widget[] };
  };

  it('one dashboard per stage with a row per function: invocations, errors, p95 duration, throttles, concurrency, EMF', () => {
    const { widgets } = body();
    expect(ids('aws_cloudwatch_dashboard')).toHaveLength(1);
    for (const spec of specs) {
      const name = `laminar-dev-${spec.name}`;
      const header = widgets.find((w) => w.type === 'text' && w.properties.markdown?.startsWith(`### ${spec.name} `));
      expect(header, spec.name).toBeDefined();
      const row = widgets.filter((w) => w.type === 'metric' && w.y === (header as Widget).y + 1);
      expect(row.map((w) => w.x)).toEqual([0, 4, 8, 12, 16, 20]);
      const lambda = (metric: string) => row.find((w) => w.properties.metrics?.some((m) => m[0] === 'AWS/Lambda' && m[1] === metric && m[3] === name));
      expect(lambda('Invocations')?.properties.stat).toBe('Sum');
      expect(lambda('Errors')?.properties.stat).toBe('Sum');
      expect(lambda('Duration')?.properties.stat).toBe('p95');
      expect(lambda('Duration')?.properties.annotations?.horizontal.map((h) => h.value)).toEqual([spec.timeoutS * 800, spec.timeoutS * 1000]);
      expect(lambda('Throttles')?.properties.stat).toBe('Sum');
      expect(lambda('ConcurrentExecutions')?.properties.stat).toBe('Maximum');
      const emf = row.find((w) => w.x === 20) as Widget;
      const namespace = spec.env.POWERTOOLS_METRICS_NAMESPACE;
      const service = spec.env.POWERTOOLS_SERVICE_NAME;
      expect(namespace).toBe('Laminar');
      expect(emf.properties.metrics).toEqual([
        // The stage's own series: the runtime adds LAMINAR_STAGE as a dimension.
        ...spec.metrics.map((m) => [namespace, m, 'service', service, 'stage', 'dev']),
        [namespace, 'ColdStart', 'function_name', name, 'service', service, 'stage', 'dev'],
      ]);
      for (const w of row) expect(w.properties.region).toBe('eu-west-1');
    }
  });

  it('shows each DLQ’s depth next to the function’s errors', () => {
    const { widgets } = body();
    const dlqs = widgets.flatMap((w) => (w.properties.metrics ?? []).filter((m) => m[0] === 'AWS/SQS').map((m) => m[3]));
    expect(dlqs.sort()).toEqual(resourcesOf(json, 'aws_sqs_queue').map((q) => q.name as string).filter((n) => n.endsWith('-dlq')).sort());
  });

  it('the body is literal JSON (no Terraform references) and the same bytes on every synth', async () => {
    const [, dashboard] = one('aws_cloudwatch_dashboard', 'dashboard_name', 'laminar-dev-functions');
    expect(dashboard.dashboard_body as string).not.toContain('${');
    const again = (await synthAll()).json('laminar-dev');
    const body2 = Object.values(again.resource.aws_cloudwatch_dashboard ?? {})[0]?.dashboard_body;
    expect(body2).toBe(dashboard.dashboard_body);
  });
});

describe('the EMF metrics each spec declares (metrics) match the function’s code', () => {
  function sources(dir: string): string[] {
    return readdirSync(dir).flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') ? [readFileSync(p, 'utf8')] : [];
    });
  }

  it.each(readdirSync(join(REPO_ROOT, 'functions')).sort())('%s', (fn) => {
    const code = sources(join(REPO_ROOT, 'functions', fn, 'src')).join('\n');
    const declared = specs.find((s) => s.name === fn)?.metrics;
    expect(declared, `functions/${fn} has no spec`).toBeDefined();
    if (!code.includes('addMetric(')) {
      expect(declared ?? []).toEqual([]);
      return;
    }
    expect(declared?.length, `list what ${fn} emits in its spec's metrics`).toBeGreaterThan(0);
    // Literal names at call sites: addMetric('X', …) or a local helper count('X', …).
    const literal = [...code.matchAll(/\b(?:addMetric|count)\(\s*'([A-Za-z0-9]+)'/g)].map((m) => m[1] as string);
    for (const name of literal) expect(declared, `${fn} emits ${name}`).toContain(name);
    // Every declared name occurs in the code as a string or an object key (names built from object keys).
    for (const name of declared ?? []) expect(new RegExp(`['"]${name}['"]|\\b${name}\\s*:`).test(code), `${fn} declares ${name} but never emits it`).toBe(true);
  });
});
