import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule/index.js';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target/index.js';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
import { CloudwatchMetricAlarm, type CloudwatchMetricAlarmConfig } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment/index.js';
import { LambdaEventSourceMapping } from '@cdktf/provider-aws/lib/lambda-event-source-mapping/index.js';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function/index.js';
import { LambdaFunctionEventInvokeConfig } from '@cdktf/provider-aws/lib/lambda-function-event-invoke-config/index.js';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission/index.js';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue/index.js';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy/index.js';
import { queueArrivals, queueNotEmpty } from './queue-alarm.ts';
import { denyInsecureTransport } from './tls-only.ts';
import { DLQ_RETENTION_S, FUNCTION_TARGET_RETRY, undeliveredLost, undeliveredQueue } from './undelivered-queue.ts';
import {
  dlqName,
  type FunctionAlarmSuffix,
  hasDlq,
  type KafkaTrigger,
  kafkaGroupStem,
  kafkaMappingId,
  kafkaMappings,
  kafkaTriggersOf,
  type LoadedSpec,
  metricAlarmSuffix,
  resolveEnv,
  type SecretRef,
  type Setting,
  scheduleRuleName,
  scheduleTargetInput,
  scheduleUndeliveredQueueName,
  STAGE_ENV,
} from '@laminar/spec';
import { Annotations } from 'cdktf';
import { Construct } from 'constructs';
import { readArtifact } from '../artifacts.ts';
import { DURATION_ALARM_FRACTION } from '../dashboard.ts';
import { ALARM_DESCRIPTION_BYTES, fitDescription, RULE_DESCRIPTION_BYTES } from '../descriptions.ts';
import { MSK_VPC_ACTIONS } from '../msk.ts';
import { resourceName } from '../naming.ts';
import { type PolicyDocument, type PolicyStatement, permissionStatements } from '../policy.ts';
import type { DataBucket } from './data-bucket.ts';
import type { DataTable } from './data-table.ts';
import type { DeliveryStream } from './delivery-stream.ts';
import type { EventQueue } from './event-queue.ts';
import type { NodeLayer } from './node-layer.ts';

/** A secret reference as the function sees it: the env value (ARN or parameter name) and what reading it takes. */
export interface SecretGrant {
  envValue: string;
  arn: string;
  actions: string[];
}

/** What a function may refer to in its stage: built once per stack, shared by all functions. */
export interface StageResources {
  buckets: ReadonlyMap<string, DataBucket>;
  tables: ReadonlyMap<string, DataTable>;
  layers: ReadonlyMap<string, NodeLayer>;
  queues: ReadonlyMap<string, EventQueue>;
  deliveryStreams: ReadonlyMap<string, DeliveryStream>;
  secret(ref: Pick<SecretRef, 'from' | 'id'>): SecretGrant;
  setting(name: Setting): string;
  topic(logical: string): string;
  /** The real delivery stream name: laminar-<stage>-<logical>. */
  deliveryStream(logical: string): string;
  /** The MSK cluster Kafka triggers of kind "msk" read from (a Terraform variable). */
  mskCluster(): MskCluster;
}

/** An MSK cluster's ARN and the ARN prefixes of its topics and consumer groups (append "/<name>"). */
export interface MskCluster {
  arn: string;
  topicArnPrefix: string;
  groupArnPrefix: string;
}

export interface NodeFunctionProps {
  stage: string;
  /** The commit deployed: the function's git_sha tag. */
  gitSha: string;
  loaded: LoadedSpec;
  resources: StageResources;
  /** Folder the stack's JSON is written to; the zip path is made relative to it. */
  stackDir: string;
  /** The stage's alarm topic: alarm and OK action of every alarm of the function. */
  alarmTopicArn: string;
  /** ARN of the stage's permissions boundary (bootstrap stack): the ceiling of the role's grants. */
  permissionsBoundary: string;
  /** The AWS partition (a data source token): managed policy ARNs are per partition. */
  partition: string;
}

/** What a Kafka trigger becomes: its mapping's settings and the role statements the pollers need. */
interface KafkaSource {
  trigger: KafkaTrigger;
  /**
   * One mapping per topic: AWS takes exactly one topic per event source mapping (CreateEventSourceMapping's
   * Topics: "Fixed number of 1 item"), and each mapping needs a consumer group of its own.
   */
  mappings: { topic: string; consumerGroupId: string }[];
  statements: PolicyStatement[];
  cluster:
    | { kind: 'self-managed'; bootstrapServers: string; auth: string; secretArn: string }
    | { kind: 'msk'; arn: string };
}

/** MSK IAM-auth actions a consumer needs, by the resource type IAM matches them against. */
const MSK_CLUSTER_ACTIONS = ['kafka-cluster:Connect', 'kafka-cluster:DescribeClusterDynamicConfiguration'];
const MSK_TOPIC_ACTIONS = ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'];
const MSK_GROUP_ACTIONS = ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'];

export class NodeFunction extends Construct {
  readonly functionName: string;
  readonly fn: LambdaFunction;
  readonly role: IamRole;
  readonly logGroup: CloudwatchLogGroup;
  readonly dlq?: SqsQueue;
  readonly alarms: CloudwatchMetricAlarm[] = [];
  private readonly alarmTopicArn: string;

  constructor(scope: Construct, id: string, props: NodeFunctionProps) {
    super(scope, id);
    const { spec } = props.loaded;
    const { stage } = props;
    this.alarmTopicArn = props.alarmTopicArn;

    const name = resourceName(stage, spec.name);
    this.functionName = name;
    // The function's own alarms, named from the list a spec's metric alarms may not take.
    const alarmName = (suffix: FunctionAlarmSuffix) => `${name}-${suffix}`;
    const tags = { function: spec.name };
    const artifact = readArtifact(props.loaded, props.stackDir);
    const { resources } = props;
    const lookup = <T>(map: ReadonlyMap<string, T>, what: string, logical: string): T => {
      const found = map.get(logical);
      if (!found) throw new Error(`function "${spec.name}": no ${what} "${logical}" in this stack`);
      return found;
    };
    const bucket = (logical: string) => lookup(resources.buckets, 'bucket', logical);
    const table = (logical: string) => lookup(resources.tables, 'table', logical);
    const secrets = spec.secrets.map((ref) => ({ ref, grant: resources.secret(ref) }));
    const stream = (logical: string) => lookup(resources.deliveryStreams, 'delivery stream', logical);
    const kafkaSources = kafkaTriggersOf(spec).map((trigger, k) => kafkaSource(stage, spec.name, trigger, k, resources));
    const onSuccess = spec.async?.onSuccess ? lookup(resources.queues, 'queue', spec.async.onSuccess.queue) : undefined;

    // Created here rather than by Lambda on first write, so retention applies from the start and
    // the role can be scoped to this one group.
    this.logGroup = new CloudwatchLogGroup(this, 'logs', {
      name: `/aws/lambda/${name}`,
      retentionInDays: spec.logRetentionDays,
      tags,
    });

    this.role = new IamRole(this, 'role', {
      name,
      permissionsBoundary: props.permissionsBoundary,
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      }),
      tags,
    });

    // Active tracing sends segments with the role; AWS's managed policy for exactly that (X-Ray has
    // no resource types to scope it to), inside the stage's permissions boundary.
    const tracing = new IamRolePolicyAttachment(this, 'tracing', {
      role: this.role.name,
      policyArn: `arn:${props.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess`,
    });

    // Async invocations that fail for good and Kafka batches that fail for good land in the same queue.
    if (hasDlq(spec)) {
      this.dlq = new SqsQueue(this, 'dlq', {
        name: dlqName(stage, spec.name),
        sqsManagedSseEnabled: true,
        messageRetentionSeconds: DLQ_RETENTION_S,
        tags,
      });
      // Lambda sends with the function's role (an identity grant): the policy only refuses plain HTTP.
      new SqsQueuePolicy(this, 'dlq-policy', {
        queueUrl: this.dlq.url,
        policy: JSON.stringify({ Version: '2012-10-17', Statement: [denyInsecureTransport('sqs:*', this.dlq.arn)] }),
      });
      // Not-empty only, without the arrivals alarm the undelivered queues have: what lands here failed
      // in the function first (or waited out its throttling), so -errors or -throttles, which clear
      // after 5 minutes, report each later failure while this one stays in ALARM.
      this.alarm('dlq-alarm', spec.name, {
        alarmName: alarmName('dlq-not-empty'),
        alarmDescription: `Events for ${name} failed after all retries and wait in ${name}-dlq`,
        ...queueNotEmpty(this.dlq.name),
      });
    }

    const statements: PolicyStatement[] = [
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        // The provider's log group ARN carries no trailing ":*"; streams are "<group arn>:log-stream:<name>",
        // which "<arn>:*" covers without reaching a group whose name merely starts with ours.
        Resource: [`${this.logGroup.arn}:*`],
      },
      ...permissionStatements(spec, {
        bucket: (logical) => bucket(logical).arn,
        table: (logical) => table(logical).arn,
        deliveryStream: (logical) => stream(logical).arn,
      }),
      // Read access to exactly the secrets the spec references, nothing else in Secrets Manager / SSM.
      ...secrets.map(({ grant }) => ({ Effect: 'Allow' as const, Action: grant.actions, Resource: [grant.arn] })),
      // Lambda sends destination records with the function's role.
      ...(this.dlq ? [{ Effect: 'Allow' as const, Action: ['sqs:SendMessage'], Resource: [this.dlq.arn] }] : []),
      ...(onSuccess ? [{ Effect: 'Allow' as const, Action: ['sqs:SendMessage'], Resource: [onSuccess.arn] }] : []),
      // Event source mappings poll with the function's role.
      ...kafkaSources.flatMap((k) => k.statements),
    ];
    const policy: PolicyDocument = { Version: '2012-10-17', Statement: statements };
    const rolePolicy = new IamRolePolicy(this, 'policy', {
      name,
      role: this.role.id,
      policy: JSON.stringify(policy),
    });

    const env = {
      ...resolveEnv(spec, {
        bucket: (logical) => bucket(logical).name,
        table: (logical) => table(logical).name,
        topic: (logical) => resources.topic(logical),
        deliveryStream: (logical) => resources.deliveryStream(logical),
        setting: (name) => resources.setting(name),
      }),
      ...Object.fromEntries(secrets.map(({ ref, grant }) => [ref.name, grant.envValue])),
      // The runtime adds it to every EMF metric as the `stage` dimension, which dashboards and
      // alarms name (stages may share an account).
      [STAGE_ENV]: stage,
    };
    this.fn = new LambdaFunction(this, 'function', {
      functionName: name,
      ...(spec.description ? { description: spec.description } : {}),
      role: this.role.arn,
      // The bundler emits index.mjs at the zip root.
      handler: `index.${spec.handler}`,
      runtime: spec.runtime,
      architectures: [spec.architecture],
      memorySize: spec.memoryMb,
      timeout: spec.timeoutS,
      // Always written, the default too: the provider keeps what is deployed when the block is left
      // out, so a function moved back to 512 MB would otherwise keep its larger /tmp (and its bill).
      ephemeralStorage: { size: spec.ephemeralStorageMb },
      filename: artifact.filename,
      sourceCodeHash: artifact.sourceCodeHash,
      ...(spec.layers.length > 0 ? { layers: spec.layers.map((l) => lookup(resources.layers, 'layer', l).arn) } : {}),
      ...(Object.keys(env).length > 0 ? { environment: { variables: env } } : {}),
      loggingConfig: { logFormat: 'JSON', logGroup: this.logGroup.name },
      // Every invocation is sampled into X-Ray; the runtime wrapper's Tracer adds the handler, AWS
      // SDK calls, fetches and Kafka sends as subsegments.
      tracingConfig: { mode: 'Active' },
      tags: { ...tags, git_sha: props.gitSha },
      // Without these, the first invocations can race the role policy (AccessDenied on S3) or
      // create the log group themselves with infinite retention.
      dependsOn: [this.logGroup, rolePolicy, tracing],
    });
    if (spec.runtime === 'nodejs20.x') {
      // Said at synth, before Lambda refuses the deploy: it deprecated nodejs20.x on 2026-04-30 and
      // has since blocked creating, then updating, functions on it.
      Annotations.of(this.fn).addWarning(
        `${spec.name} runs nodejs20.x, on which Lambda no longer creates or updates functions (deprecated 2026-04-30): a deploy that creates or changes it will be refused`,
      );
    }

    // One alarm per failure mode, on the function's own metrics over 5 minutes. No data (no
    // invocations) is not a failure.
    const fnDimensions = { FunctionName: this.fn.functionName };
    const everyFiveMinutes = { period: 300, evaluationPeriods: 1, comparisonOperator: 'GreaterThanThreshold', treatMissingData: 'notBreaching' };
    this.alarm('errors-alarm', spec.name, {
      alarmName: alarmName('errors'),
      alarmDescription: `${name} returned errors (failed events go on to retries and then its DLQ, if it has one)`,
      namespace: 'AWS/Lambda',
      metricName: 'Errors',
      dimensions: fnDimensions,
      statistic: 'Sum',
      threshold: 0,
      ...everyFiveMinutes,
    });
    this.alarm('throttles-alarm', spec.name, {
      alarmName: alarmName('throttles'),
      alarmDescription: `${name} was throttled (account or reserved concurrency exhausted)`,
      namespace: 'AWS/Lambda',
      metricName: 'Throttles',
      dimensions: fnDimensions,
      statistic: 'Sum',
      threshold: 0,
      ...everyFiveMinutes,
    });
    this.alarm('duration-alarm', spec.name, {
      alarmName: alarmName('duration-p95'),
      alarmDescription: `${name}: p95 duration above ${Math.round(DURATION_ALARM_FRACTION * 100)} % of its ${spec.timeoutS} s timeout`,
      namespace: 'AWS/Lambda',
      metricName: 'Duration',
      dimensions: fnDimensions,
      extendedStatistic: 'p95',
      threshold: Math.round(spec.timeoutS * 1000 * DURATION_ALARM_FRACTION),
      ...everyFiveMinutes,
    });

    // A Kafka consumer that falls behind, or whose batch keeps failing (on demand, a mapping retries
    // it for as long as the records last), shows as lag that stays up. OffsetLag is per topic; by
    // FunctionName, the dimension every Lambda metric has, its Maximum is the worst of the
    // function's mappings. 15 minutes, so that a burst the consumer works through does not page.
    if (kafkaSources.length > 0) {
      const maxLag = Math.min(...kafkaSources.map((k) => k.trigger.maxOffsetLag));
      this.alarm('offset-lag-alarm', spec.name, {
        alarmName: alarmName('kafka-offset-lag'),
        alarmDescription: `${name} stayed more than ${maxLag} records behind a topic for 15 minutes (it cannot keep up, or a batch keeps failing)`,
        namespace: 'AWS/Lambda',
        metricName: 'OffsetLag',
        dimensions: fnDimensions,
        statistic: 'Maximum',
        threshold: maxLag,
        period: 300,
        evaluationPeriods: 3,
        comparisonOperator: 'GreaterThanThreshold',
        treatMissingData: 'notBreaching',
      });

      // A mapping that cannot poll at all (rotated credentials, wrong bootstrap servers, a disabled
      // mapping) invokes nothing and reports no OffsetLag, so every alarm above stays OK. What it
      // cannot hide is the absence of invocations: fewer than one in every 5-minute period for the
      // spec's maxIdleMinutes, missing data (Lambda sends none for a function not invoked) counted as
      // a breach. The shortest of the triggers' values: any one of them expects traffic that often.
      const idleMinutes = Math.min(...kafkaSources.map((k) => k.trigger.maxIdleMinutes));
      this.alarm('kafka-idle-alarm', spec.name, {
        alarmName: alarmName('kafka-idle'),
        alarmDescription: `${name} was not invoked for ${idleMinutes} minutes: its Kafka mappings may not be polling (credentials, bootstrap servers, a disabled mapping), or the topics had no records`,
        namespace: 'AWS/Lambda',
        metricName: 'Invocations',
        dimensions: fnDimensions,
        statistic: 'Sum',
        threshold: 1,
        period: 300,
        evaluationPeriods: idleMinutes / 5,
        comparisonOperator: 'LessThanThreshold',
        treatMissingData: 'breaching',
      });
    }

    // The spec's alarms on its own EMF metrics: outcomes that succeed yet want a human.
    for (const a of spec.metricAlarms) {
      this.alarm(`metric-${a.metric}-alarm`, spec.name, {
        alarmName: `${name}-${metricAlarmSuffix(a.metric)}`,
        alarmDescription: `${name}: ${a.description}`,
        namespace: spec.env.POWERTOOLS_METRICS_NAMESPACE as string,
        metricName: a.metric,
        dimensions: { service: spec.env.POWERTOOLS_SERVICE_NAME as string, stage },
        statistic: 'Sum',
        threshold: a.above,
        ...everyFiveMinutes,
      });
    }

    const asyncDlq = spec.async?.onFailure === 'dlq' ? this.dlq : undefined;
    if (spec.async) {
      new LambdaFunctionEventInvokeConfig(this, 'async', {
        functionName: this.fn.functionName,
        maximumRetryAttempts: spec.async.maxRetries,
        maximumEventAgeInSeconds: spec.async.maxEventAgeS,
        ...(asyncDlq || onSuccess
          ? {
              destinationConfig: {
                ...(asyncDlq ? { onFailure: { destination: asyncDlq.arn } } : {}),
                ...(onSuccess ? { onSuccess: { destination: onSuccess.arn } } : {}),
              },
            }
          : {}),
        // Lambda checks at configuration time that the role may send to the destination.
        dependsOn: [rolePolicy],
      });
      // Events given up on (older than maxEventAgeS, retries spent, reserved concurrency 0): sent to
      // the DLQ first when there is one, lost otherwise. One that expired before it ever ran is in no -errors.
      this.alarm('async-events-dropped-alarm', spec.name, {
        alarmName: alarmName('async-events-dropped'),
        alarmDescription: `Lambda dropped asynchronous events of ${name} without a successful run (${asyncDlq ? 'they went to its DLQ unless -destination-failures fired too' : 'no DLQ: they are lost'})`,
        namespace: 'AWS/Lambda',
        metricName: 'AsyncEventsDropped',
        dimensions: fnDimensions,
        statistic: 'Sum',
        threshold: 0,
        ...everyFiveMinutes,
      });
    }

    // A record Lambda cannot hand to its destination (the queue deleted, its policy or the role's
    // grant wrong; for MSK, no way from the cluster's VPC to SQS) never reaches the queue, so
    // -dlq-not-empty stays OK: only this metric shows it. AWS documents it for an async invocation's
    // destinations and for stream mappings' on-failure destinations; for Kafka mappings (every one
    // has the DLQ as on-failure destination, below) it is undocumented, so this alarm may stay
    // silent there (infra README). A spec has async or Kafka triggers, never both.
    if (spec.async || kafkaSources.length > 0) {
      this.alarm('destination-failures-alarm', spec.name, {
        alarmName: alarmName('destination-failures'),
        alarmDescription: spec.async
          ? `Lambda could not deliver events of ${name} to their async destination (on-failure or on-success queue): they are lost`
          : `Lambda could not send the record of a Kafka batch of ${name} that failed for good to ${name}-dlq, so nothing there names its offsets${kafkaSources.some((k) => k.cluster.kind === 'msk') ? " (MSK: the cluster's VPC needs a VPC endpoint for SQS)" : ''}`,
        namespace: 'AWS/Lambda',
        metricName: 'DestinationDeliveryFailures',
        dimensions: fnDimensions,
        statistic: 'Sum',
        threshold: 0,
        ...everyFiveMinutes,
      });
    }

    // What EventBridge cannot hand a schedule's firing to (after its retries, or at once when it may
    // not: the function or its permission gone) waits in a queue of the function's schedules, with
    // an alarm, instead of being dropped unseen — as the S3 routes do (s3-event-route.ts).
    // The schedules' rules first: the queue's policy names them, their targets name the queue.
    const scheduleRules = new Map<number, CloudwatchEventRule>();
    spec.triggers.forEach((trigger, i) => {
      if (trigger.kind !== 'schedule') return;
      scheduleRules.set(
        i,
        new CloudwatchEventRule(this, `schedule-${i}`, {
          name: scheduleRuleName(stage, spec.name, i),
          description: fitDescription(`${trigger.expression} → ${name}`, RULE_DESCRIPTION_BYTES),
          scheduleExpression: trigger.expression,
          tags,
        }),
      );
    });
    const undelivered =
      scheduleRules.size > 0
        ? undeliveredQueue(this, 'schedule-undelivered', {
            name: scheduleUndeliveredQueueName(stage, spec.name),
            sid: 'UndeliveredFromTheSchedules',
            sourceArn: [...scheduleRules.values()].map((r) => r.arn),
            tags,
          })
        : undefined;
    if (undelivered) {
      // Both alarms, as on the S3 routes' queues: not-empty stays in ALARM while firings wait (14
      // days), arrivals fires on each new one. A firing never delivered runs nothing, so no other
      // alarm of the function moves.
      this.alarm('schedule-undelivered-alarm', spec.name, {
        alarmName: alarmName('schedule-undelivered-not-empty'),
        alarmDescription: `Scheduled firings of ${name} that EventBridge could not deliver wait in ${name}-schedule-undelivered`,
        ...queueNotEmpty(undelivered.name),
      });
      this.alarm('schedule-undelivered-arrivals-alarm', spec.name, {
        alarmName: alarmName('schedule-undelivered-arrivals'),
        alarmDescription: `EventBridge could not deliver a scheduled firing of ${name} in the last 5 minutes: it is in ${name}-schedule-undelivered`,
        ...queueArrivals(undelivered.name),
      });
    }
    // And per rule, a firing that reached neither the function nor that queue: lost, and in neither
    // alarm above, which watch the queue.
    for (const [i, rule] of scheduleRules) {
      this.alarm(`schedule-${i}-undelivered-lost-alarm`, spec.name, {
        alarmName: `${scheduleRuleName(stage, spec.name, i)}-undelivered-lost`,
        alarmDescription: `EventBridge delivered a firing of schedule ${i} of ${name} neither to it nor to ${name}-schedule-undelivered (the queue gone, its policy): the firing is lost`,
        ...undeliveredLost(rule.name),
      });
    }

    spec.triggers.forEach((trigger, i) => {
      switch (trigger.kind) {
        case 'invoke':
          // Invoked directly by callers with lambda:InvokeFunction on their own side: nothing to add.
          return;
        case 's3':
          // Routed by the stack: one EventBridge rule per pattern serves every function and queue on it.
          return;
        case 'kafka': {
          const source = kafkaSources.find((k) => k.trigger === trigger) as KafkaSource;
          const dlq = this.dlq;
          if (!dlq) throw new Error(`function "${spec.name}": a Kafka trigger needs the function's DLQ (hasDlq)`);
          for (const mapping of source.mappings) {
            // Named by its topic, a trigger's only one too: never by its position, nor by how many
            // topics there are, so adding or removing a topic moves no other mapping's address.
            new LambdaEventSourceMapping(this, `kafka-${i}-${kafkaMappingId(mapping.topic)}`, {
              functionName: this.fn.arn,
              topics: [mapping.topic],
              batchSize: trigger.batchSize,
              maximumBatchingWindowInSeconds: trigger.batchingWindowS,
              startingPosition: trigger.startingPosition,
              ...(source.cluster.kind === 'self-managed'
                ? {
                    selfManagedEventSource: { endpoints: { KAFKA_BOOTSTRAP_SERVERS: source.cluster.bootstrapServers } },
                    sourceAccessConfiguration: [{ type: source.cluster.auth, uri: source.cluster.secretArn }],
                    selfManagedKafkaEventSourceConfig: { consumerGroupId: mapping.consumerGroupId },
                  }
                : {
                    eventSourceArn: source.cluster.arn,
                    amazonManagedKafkaEventSourceConfig: { consumerGroupId: mapping.consumerGroupId },
                  }),
              // Records of batches that keep failing go to the function's DLQ (sent with its role).
              // MaximumRetryAttempts is honoured only in provisioned poller mode; on demand, a failing
              // batch is retried until its records expire.
              ...(trigger.provisioned
                ? {
                    provisionedPollerConfig: { minimumPollers: trigger.provisioned.minPollers, maximumPollers: trigger.provisioned.maxPollers },
                    ...(trigger.maxRetries !== undefined ? { maximumRetryAttempts: trigger.maxRetries } : {}),
                  }
                : {}),
              destinationConfig: { onFailure: { destinationArn: dlq.arn } },
              tags,
              // Lambda checks the role (secret, DLQ, cluster access) when it enables the mapping.
              dependsOn: [rolePolicy],
            });
          }
          return;
        }
        case 'schedule': {
          const rule = scheduleRules.get(i) as CloudwatchEventRule;
          // The local runner delivers a firing from the same description (scheduleTargetInput).
          const target = scheduleTargetInput(trigger);
          new CloudwatchEventTarget(this, `schedule-${i}-target`, {
            rule: rule.name,
            arn: this.fn.arn,
            ...(target.kind === 'constant' ? { input: target.input } : {}),
            ...(target.kind === 'transformer' ? { inputTransformer: { inputPaths: target.inputPaths, inputTemplate: target.inputTemplate } } : {}),
            retryPolicy: FUNCTION_TARGET_RETRY,
            deadLetterConfig: { arn: (undelivered as SqsQueue).arn },
          });
          new LambdaPermission(this, `schedule-${i}-permission`, {
            statementId: `events-schedule-${i}`,
            action: 'lambda:InvokeFunction',
            functionName: this.fn.functionName,
            principal: 'events.amazonaws.com',
            sourceArn: rule.arn,
          });
          return;
        }
        default: {
          const never: never = trigger;
          throw new Error(`function "${spec.name}": unsupported trigger ${JSON.stringify(never)}`);
        }
      }
    });
  }

  /**
   * An alarm of this function: tagged, notifying the stage's alarm topic on ALARM and on OK. Its
   * description is cut to CloudWatch's limit should it pass it (the spec's metricAlarms are
   * refused before that, so none of those is ever cut).
   */
  private alarm(id: string, fn: string, config: Omit<CloudwatchMetricAlarmConfig, 'alarmActions' | 'okActions' | 'tags'>): CloudwatchMetricAlarm {
    const alarm = new CloudwatchMetricAlarm(this, id, {
      ...config,
      ...(config.alarmDescription ? { alarmDescription: fitDescription(config.alarmDescription, ALARM_DESCRIPTION_BYTES) } : {}),
      alarmActions: [this.alarmTopicArn],
      okActions: [this.alarmTopicArn],
      tags: { function: fn },
    });
    this.alarms.push(alarm);
    return alarm;
  }
}

/**
 * A Kafka trigger's mapping settings: one mapping per topic. The consumer group is stable
 * (`laminar-<stage>-<function>.<topic>`, with `-<n>` after the function's name for its later Kafka
 * triggers; kafkaMappings): renaming it would make the mapping start over from its starting
 * position. Construct ids are the topic's too, so adding or removing a topic moves no other mapping.
 */
function kafkaSource(stage: string, fn: string, trigger: KafkaTrigger, k: number, resources: StageResources): KafkaSource {
  const mappings = kafkaMappings(
    resourceName(stage, kafkaGroupStem(fn, k), 255),
    trigger.topics.map((t) => resources.topic(t)),
  );
  const topics = mappings.map((m) => m.topic);
  const groups = mappings.map((m) => m.consumerGroupId);
  if (trigger.cluster.kind === 'self-managed') {
    const grant = resources.secret({ from: 'secretsmanager', id: trigger.cluster.secret });
    return {
      trigger,
      mappings,
      cluster: {
        kind: 'self-managed',
        bootstrapServers: resources.setting('kafkaBootstrapServers'),
        auth: trigger.cluster.auth,
        secretArn: grant.arn,
      },
      statements: [{ Effect: 'Allow', Action: grant.actions, Resource: [grant.arn] }],
    };
  }
  const msk = resources.mskCluster();
  return {
    trigger,
    mappings,
    cluster: { kind: 'msk', arn: msk.arn },
    statements: [
      { Effect: 'Allow', Action: ['kafka:DescribeClusterV2', 'kafka:GetBootstrapBrokers', ...MSK_CLUSTER_ACTIONS], Resource: [msk.arn] },
      { Effect: 'Allow', Action: MSK_TOPIC_ACTIONS, Resource: topics.map((t) => `${msk.topicArnPrefix}/${t}`) },
      { Effect: 'Allow', Action: MSK_GROUP_ACTIONS, Resource: groups.map((g) => `${msk.groupArnPrefix}/${g}`) },
      { Effect: 'Allow', Action: MSK_VPC_ACTIONS, Resource: ['*'] },
    ],
  };
}
