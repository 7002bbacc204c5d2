import { join } from 'node:path';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard/index.js';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity/index.js';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition/index.js';
import { DataAwsSecretsmanagerSecret } from '@cdktf/provider-aws/lib/data-aws-secretsmanager-secret/index.js';
import { GlueCatalogDatabase } from '@cdktf/provider-aws/lib/glue-catalog-database/index.js';
import { S3BucketNotification } from '@cdktf/provider-aws/lib/s3-bucket-notification/index.js';
import {
  bucketsOf,
  byCodePoint,
  dlqName,
  type DeliveryStreamDecl,
  type LoadedLayer,
  type LoadedSpec,
  type QueueSpec,
  type S3Trigger,
  type SecretRef,
  type Setting,
  s3PatternDigest,
  s3PatternKey,
  s3TriggersOf,
  secretsManagerSecretName,
  ssmParameterName,
  writesTo,
} from '@laminar/spec';
import { Fn, LocalBackend, S3Backend, TerraformLocal, TerraformStack, TerraformVariable } from 'cdktf';
import type { Construct } from 'constructs';
import type { StateBackend } from './config.ts';
import { AlarmTopic } from './constructs/alarm-topic.ts';
import { type DashboardFunction, dashboardBody } from './dashboard.ts';
import { DataBucket } from './constructs/data-bucket.ts';
import { DataTable } from './constructs/data-table.ts';
import { DeliveryStream } from './constructs/delivery-stream.ts';
import { type MskCluster, NodeFunction, type SecretGrant, type StageResources } from './constructs/node-function.ts';
import { EventQueue } from './constructs/event-queue.ts';
import { NodeLayer } from './constructs/node-layer.ts';
import { S3EventRoute } from './constructs/s3-event-route.ts';
import { PROJECT, resourceName, stackName } from './naming.ts';
import { boundaryPolicyArn } from './deploy-permissions.ts';
import { glueDatabaseName } from './partitions.ts';

export interface LaminarStackProps {
  stage: string;
  region: string;
  gitSha: string;
  backend: StateBackend;
  bucketSuffix?: string;
  specs: readonly LoadedSpec[];
  layers: readonly LoadedLayer[];
  queues?: readonly QueueSpec[];
  /** Stage settings known at synth time; the rest become Terraform variables given at plan time. */
  settings?: Partial<Record<Setting, string>>;
  /** The app's outdir; artifact paths are made relative to this stack's folder inside it. */
  outdir: string;
  /** Default of the `alarm_email` Terraform variable (empty: no e-mail subscription). */
  alarmEmail?: string;
}

/** How long an overwritten or deleted object of a data bucket stays recoverable. */
const DATA_NONCURRENT_VERSION_DAYS = 30;

export class LaminarStack extends TerraformStack {
  readonly buckets = new Map<string, DataBucket>();
  readonly functions = new Map<string, NodeFunction>();
  readonly tables = new Map<string, DataTable>();
  readonly layers = new Map<string, NodeLayer>();
  readonly queues = new Map<string, EventQueue>();
  readonly deliveryStreams = new Map<string, DeliveryStream>();
  readonly glueDatabases = new Map<string, GlueCatalogDatabase>();
  readonly routes: S3EventRoute[] = [];
  readonly alarmTopic: AlarmTopic;
  readonly dashboard: CloudwatchDashboard;

  constructor(scope: Construct, props: LaminarStackProps) {
    const name = stackName(props.stage);
    super(scope, name);
    const { stage } = props;

    // default_tags rather than per-resource tags: every resource, including ones added later, gets them.
    // The commit is not one of them: a tag every resource carries changed ~75 resources in every
    // plan, burying the real changes. It goes on the functions (NodeFunction), whose code it names.
    new AwsProvider(this, 'aws', {
      region: props.region,
      defaultTags: [{ tags: { project: PROJECT, stage } }],
    });

    if (props.backend.kind === 's3') {
      const backend = new S3Backend(this, {
        bucket: props.backend.bucket,
        key: `${PROJECT}/${stage}.tfstate`,
        region: props.backend.region,
        encrypt: true,
        ...(props.backend.lockTable ? { dynamodbTable: props.backend.lockTable } : {}),
      });
      // cdktf 0.21 predates S3-native locking (Terraform ≥ 1.10), so the setting goes in as an override.
      if (!props.backend.lockTable) backend.addOverride('use_lockfile', true);
    } else {
      // Relative to the stack folder (where terraform runs): lands at infra/terraform.<stack>.tfstate,
      // where the cdktf CLI would put it, outside cdktf.out so a clean synth cannot lose it. The
      // default would be an absolute path of this machine inside the JSON.
      new LocalBackend(this, { path: `../../../terraform.${name}.tfstate` });
    }

    const specs = [...props.specs].sort((a, b) => byCodePoint(a.spec.name, b.spec.name));
    const queueSpecs = [...(props.queues ?? [])].sort((a, b) => byCodePoint(a.name, b.name));
    const logical = [
      ...new Set([...specs.flatMap((l) => bucketsOf(l.spec)), ...queueSpecs.flatMap((q) => q.subscribe.map((t) => t.bucket))]),
    ].sort();
    // Declared streams, with the function that owns each (the spec loader already refuses two owners).
    const streams: Array<{ owner: LoadedSpec; decl: DeliveryStreamDecl }> = [];
    for (const l of specs) {
      for (const decl of l.spec.deliveryStreams) {
        const other = streams.find((s) => s.decl.name === decl.name);
        if (other) throw new Error(`delivery stream "${decl.name}" is declared by ${other.owner.spec.name} and by ${l.spec.name}`);
        streams.push({ owner: l, decl });
      }
    }
    streams.sort((a, b) => byCodePoint(a.decl.name, b.decl.name));

    for (const b of logical) {
      // Firehose writes too (multipart for large buffers): the same versioning and upload cleanup.
      const written = specs.some((l) => writesTo(l.spec, b)) || streams.some((s) => s.decl.bucket === b);
      this.buckets.set(
        b,
        new DataBucket(this, `bucket-${b}`, {
          stage,
          logical: b,
          ...(props.bucketSuffix ? { suffix: props.bucketSuffix } : {}),
          versioned: written,
          abortIncompleteUploads: written,
          // Versions overwritten (a retry rewrites its outputs) or deleted stay recoverable for a
          // month, then go, with the delete markers they leave: without this rule every rewrite is
          // kept, and billed, for good.
          ...(written ? { noncurrentVersionDays: DATA_NONCURRENT_VERSION_DAYS, noncurrentVersionsKept: 0 } : {}),
          expirations: specs.flatMap((l) => l.spec.expiringOutputs.filter((o) => o.bucket === b)),
        }),
      );
    }

    const stackDir = join(props.outdir, 'stacks', name);

    for (const layer of props.layers) {
      if (specs.some((l) => l.spec.layers.includes(layer.spec.name))) {
        this.layers.set(layer.spec.name, new NodeLayer(this, `layer-${layer.spec.name}`, { stage, layer, stackDir }));
      }
    }

    const tableKinds = new Map(specs.flatMap((l) => l.spec.tables.map((t) => [t.name, t.kind] as const)));
    for (const [logical, kind] of [...tableKinds].sort(([a], [b]) => byCodePoint(a, b))) {
      this.tables.set(logical, new DataTable(this, `table-${logical}`, { stage, logical, kind }));
    }

    // Settings not given at synth time are asked for at plan time (TF_VAR_… in the deploy
    // workflow), so the JSON never carries environment-specific endpoints unless told to.
    const settingVars = new Map<Setting, TerraformVariable>();
    const setting = (key: Setting): string => {
      const known = props.settings?.[key];
      if (known) return known;
      let variable = settingVars.get(key);
      if (!variable) {
        variable = new TerraformVariable(this, snake(key), { type: 'string', description: `Stage setting ${key}`, nullable: false });
        settingVars.set(key, variable);
      }
      return variable.stringValue;
    };

    // Secrets are created outside the stack (their values must never pass through Terraform
    // state) under laminar/<stage>/<id>; the stack only looks them up and grants read access.
    const secretLookups = new Map<string, SecretGrant>();
    let partitionData: DataAwsPartition | undefined;
    let callerData: DataAwsCallerIdentity | undefined;
    const partition = () => (partitionData ??= new DataAwsPartition(this, 'partition'));
    const caller = () => (callerData ??= new DataAwsCallerIdentity(this, 'caller'));
    // Every role of the stage carries the boundary the bootstrap stack creates for it: the deploy role
    // may only create roles with it, so no role policy it writes can reach beyond the stage.
    const permissionsBoundary = boundaryPolicyArn(stage, { partition: partition().partition, accountId: caller().accountId });
    const secret = (ref: Pick<SecretRef, 'from' | 'id'>): SecretGrant => {
      const key = `${ref.from}:${ref.id}`;
      const known = secretLookups.get(key);
      if (known) return known;
      let grant: SecretGrant;
      if (ref.from === 'secretsmanager') {
        const data = new DataAwsSecretsmanagerSecret(this, `secret-${ref.id}`, { name: secretsManagerSecretName(stage, ref.id) });
        grant = { envValue: data.arn, arn: data.arn, actions: ['secretsmanager:GetSecretValue'] };
      } else {
        const parameter = ssmParameterName(stage, ref.id);
        grant = {
          envValue: parameter,
          arn: `arn:${partition().partition}:ssm:${props.region}:${caller().accountId}:parameter${parameter}`,
          actions: ['ssm:GetParameter'],
        };
      }
      secretLookups.set(key, grant);
      return grant;
    };

    for (const q of queueSpecs) this.queues.set(q.name, new EventQueue(this, `queue-${q.name}`, { stage, queue: q }));

    // One Glue database per database name the stream tables use; the stage is part of its name.
    const databases = [...new Set(streams.flatMap((s) => (s.decl.table ? [s.decl.table.database] : [])))].sort();
    for (const db of databases) {
      this.glueDatabases.set(
        db,
        new GlueCatalogDatabase(this, `glue-${db}`, {
          name: glueDatabaseName(db, stage),
          description: `Laminar ${stage}: tables over the data lake (Athena, partition projection)`,
        }),
      );
    }
    // Before the streams and functions: both alarm on it.
    this.alarmTopic = new AlarmTopic(this, 'alarm-topic', {
      stage,
      region: props.region,
      partition: partition().partition,
      accountId: caller().accountId,
      ...(props.alarmEmail ? { alarmEmail: props.alarmEmail } : {}),
    });
    for (const q of this.queues.values()) q.alarmOnAge(this.alarmTopic.arn);
    const tableNames = new Set<string>();
    for (const { owner, decl } of streams) {
      if (decl.table) {
        const key = `${decl.table.database}.${decl.table.name}`;
        if (tableNames.has(key)) throw new Error(`Glue table ${key} is declared by two delivery streams`);
        tableNames.add(key);
      }
      this.deliveryStreams.set(
        decl.name,
        new DeliveryStream(this, `firehose-${decl.name}`, {
          stage,
          owner: owner.spec.name,
          decl,
          bucket: this.buckets.get(decl.bucket) as DataBucket,
          accountId: caller().accountId,
          logRetentionDays: owner.spec.logRetentionDays,
          permissionsBoundary,
          alarmTopicArn: this.alarmTopic.arn,
          ...(decl.table ? { database: this.glueDatabases.get(decl.table.database) as GlueCatalogDatabase } : {}),
        }),
      );
    }

    // Declared only when some spec consumes from Amazon MSK. Topic and group ARNs share the
    // cluster's name and uuid (arn:…:topic/<cluster>/<uuid>/<topic>): locals hold those prefixes so
    // policies refer to them without quotes inside their JSON.
    let msk: MskCluster | undefined;
    const mskCluster = (): MskCluster => {
      if (msk) return msk;
      const variable = new TerraformVariable(this, 'msk_cluster_arn', {
        type: 'string',
        description: 'ARN of the Amazon MSK cluster that Kafka triggers with cluster kind "msk" read from',
        nullable: false,
        validation: [
          {
            condition: '${can(regex("^arn:aws[a-z-]*:kafka:[a-z0-9-]+:[0-9]{12}:cluster/[^/]+/[^/]+$", var.msk_cluster_arn))}',
            errorMessage: 'msk_cluster_arn must be an MSK cluster ARN (arn:<partition>:kafka:<region>:<account>:cluster/<name>/<uuid>).',
          },
        ],
      });
      const under = (kind: string) =>
        new TerraformLocal(this, `msk_${kind}_arn_prefix`, Fn.replace(variable.stringValue, ':cluster/', `:${kind}/`)).asString;
      msk = { arn: variable.stringValue, topicArnPrefix: under('topic'), groupArnPrefix: under('group') };
      return msk;
    };

    const resources: StageResources = {
      buckets: this.buckets,
      tables: this.tables,
      layers: this.layers,
      queues: this.queues,
      deliveryStreams: this.deliveryStreams,
      secret,
      setting,
      mskCluster,
      // One cluster can serve several stages: topics carry the stage as a prefix.
      topic: (logical) => `${stage}.${logical}`,
      deliveryStream: (logical) => resourceName(stage, logical),
    };
    for (const loaded of specs) {
      this.functions.set(
        loaded.spec.name,
        new NodeFunction(this, `fn-${loaded.spec.name}`, { stage, loaded, resources, stackDir, alarmTopicArn: this.alarmTopic.arn, permissionsBoundary, partition: partition().partition, gitSha: props.gitSha }),
      );
    }
    this.routeS3Events(stage, specs, queueSpecs);

    this.dashboard = new CloudwatchDashboard(this, 'dashboard', {
      dashboardName: resourceName(stage, 'functions'),
      dashboardBody: dashboardBody(
        props.region,
        specs.map((l) => dashboardFunction(stage, l.spec, this.functions.get(l.spec.name) as NodeFunction)),
      ),
    });
    assertUniqueAlarmNames(this);
  }

  /** S3 → EventBridge: each bucket with subscribers sends its events; one rule per distinct pattern. */
  private routeS3Events(stage: string, specs: LoadedSpec[], queueSpecs: QueueSpec[]): void {
    const groups = new Map<string, { pattern: S3Trigger; functions: NodeFunction[]; queues: EventQueue[] }>();
    const group = (t: S3Trigger) => {
      const key = s3PatternKey(t);
      const found = groups.get(key);
      if (found) return found;
      const created = { pattern: t, functions: [] as NodeFunction[], queues: [] as EventQueue[] };
      groups.set(key, created);
      return created;
    };
    for (const l of specs) for (const t of s3TriggersOf(l.spec)) group(t).functions.push(this.functions.get(l.spec.name) as NodeFunction);
    for (const q of queueSpecs) for (const t of q.subscribe) group(t).queues.push(this.queues.get(q.name) as EventQueue);

    const buckets = [...new Set([...groups.values()].map((g) => g.pattern.bucket))].sort();
    for (const b of buckets) {
      new S3BucketNotification(this, `bucket-${b}-events`, { bucket: (this.buckets.get(b) as DataBucket).bucket.id, eventbridge: true });
    }
    const rulesPerQueue = new Map<EventQueue, string[]>();
    for (const [, g] of [...groups].sort(([a], [b]) => byCodePoint(a, b))) {
      // Named by the pattern's digest (as its rule is), never by position: a new pattern sorting
      // before this one would otherwise move its rule and queue to other addresses, and Terraform
      // would delete the same-named resources it had just created in their place.
      const route = new S3EventRoute(this, `route-${s3PatternDigest(g.pattern)}`, {
        stage,
        pattern: g.pattern,
        bucket: this.buckets.get(g.pattern.bucket) as DataBucket,
        functions: g.functions,
        queues: g.queues,
        alarmTopicArn: this.alarmTopic.arn,
      });
      this.routes.push(route);
      for (const q of g.queues) rulesPerQueue.set(q, [...(rulesPerQueue.get(q) ?? []), route.rule.arn]);
    }
    for (const q of this.queues.values()) q.setPolicy(rulesPerQueue.get(q) ?? []);
  }
}

/**
 * Refuses two alarms of one name in the stack. CloudWatch's PutMetricAlarm creates an alarm or
 * replaces the one of that name, so only one of the two would exist, each apply overwriting the
 * other, and whatever the lost one watched would page no one. The spec refuses a metric alarm named
 * as its own function's alarms; across names it cannot see: a function `csv` alarming on its
 * metric ValidatorErrors and function csv-validator's errors alarm are both
 * `laminar-<stage>-csv-validator-errors`.
 */
export function assertUniqueAlarmNames(scope: Construct): void {
  const seen = new Map<string, CloudwatchMetricAlarm>();
  const describe = (a: CloudwatchMetricAlarm) => `${a.node.path} (${a.namespaceInput ?? '?'} ${a.metricNameInput ?? '?'})`;
  for (const c of scope.node.findAll()) {
    if (!(c instanceof CloudwatchMetricAlarm) || c.alarmNameInput === undefined) continue;
    const other = seen.get(c.alarmNameInput);
    if (other) {
      throw new Error(
        `two alarms are named ${c.alarmNameInput}: ${describe(other)} and ${describe(c)}. CloudWatch keeps one alarm per name (PutMetricAlarm replaces it), so one would be lost: rename the function or the metric alarm's metric`,
      );
    }
    seen.set(c.alarmNameInput, c);
  }
}

/** What the dashboard shows of a function, from its spec and the names the stack gave it. */
function dashboardFunction(stage: string, spec: LoadedSpec['spec'], fn: NodeFunction): DashboardFunction {
  const literal = (key: string) => {
    const v = spec.env[key];
    return typeof v === 'string' ? v : undefined;
  };
  const namespace = literal('POWERTOOLS_METRICS_NAMESPACE');
  const service = literal('POWERTOOLS_SERVICE_NAME');
  return {
    name: spec.name,
    functionName: fn.functionName,
    timeoutS: spec.timeoutS,
    ...(fn.dlq ? { dlqName: dlqName(stage, spec.name) } : {}),
    ...(namespace && service ? { emf: { namespace, service, stage, metrics: spec.metrics, coldStart: true } } : {}),
  };
}

function snake(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
