import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineFunction, loadAllLayers, loadAllQueues, loadAllSpecs, SpecError } from '@laminar/spec';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBootstrapApp } from '../src/bootstrap.ts';
import { settingsFromEnv } from '../src/config.ts';
import { boundaryStatements } from '../src/deploy-permissions.ts';
import { WILDCARD_RESOURCE_ALLOWLIST } from '../src/policy-allowlist.ts';
import { type Breach, checkStack, formatBreaches, isWildcardResource, parsePolicy, secretInValue, type TerraformJson } from '../src/policy-checks.ts';
import { fakeArtifact, fakeRoot, REPO_ROOT, type StackJson, synthInto } from './fixtures.ts';

/** Every stage the app synthesizes here (LAMINAR_STAGE) plus dev and prod, always. */
const STAGES = [...new Set(['dev', 'prod', ...settingsFromEnv().stages])].sort();

/** An MSK consumer reading an SSM parameter: exercises what the repository's specs do not (allow-listed ENI calls). */
const mskReader = defineFunction({
  name: 'msk-reader',
  memoryMb: 256,
  timeoutS: 60,
  triggers: [{ kind: 'kafka', topics: ['orders'], cluster: { kind: 'msk' }, batchingWindowS: 10 }],
  secrets: [{ name: 'API_TOKEN_PARAMETER_NAME', from: 'ssm', id: 'api-token' }],
  permissions: [{ actions: ['s3:PutObject'], resource: { bucket: 'orders', prefix: 'raw/*' } }],
});

let stacks: Record<string, TerraformJson>;

beforeAll(async () => {
  const root = fakeRoot();
  const [loaded, realLayers, queues] = await Promise.all([loadAllSpecs(REPO_ROOT), loadAllLayers(REPO_ROOT), loadAllQueues(REPO_ROOT)]);
  const specs = loaded.map((l) => fakeArtifact(root, l.spec));
  // Layers with fake zips in the fake root, as the fixtures do for functions.
  const layers = realLayers.map((layer) => {
    const fake = fakeArtifact(root, { ...mskReader, name: layer.spec.name }, join(root, 'layers', layer.spec.name));
    return { spec: layer.spec, dir: fake.dir, zipPath: fake.zipPath, hashPath: fake.hashPath };
  });
  const app = synthInto(root, specs, { stages: STAGES }, layers, queues);
  stacks = Object.fromEntries(STAGES.map((s) => [`laminar-${s}`, app.json(`laminar-${s}`) as unknown as TerraformJson]));

  const mskRoot = fakeRoot();
  stacks['msk-variant'] = synthInto(mskRoot, [fakeArtifact(mskRoot, mskReader)]).json('laminar-dev') as unknown as TerraformJson;

  const { app: boot } = buildBootstrapApp({
    stages: STAGES,
    region: 'eu-west-1',
    backend: { kind: 'local' },
    githubRepository: 'acme/laminar',
    outdir: join(fakeRoot(), 'bootstrap.out'),
  });
  boot.synth();
  stacks['laminar-bootstrap'] = JSON.parse(readFileSync(join(boot.outdir, 'stacks', 'laminar-bootstrap', 'cdk.tf.json'), 'utf8')) as TerraformJson;

  // A stage that reads from MSK (LAMINAR_BOOTSTRAP_MSK_STAGES=dev): its boundary lets the Kafka calls through.
  const { app: mskBoot } = buildBootstrapApp({
    stages: STAGES,
    region: 'eu-west-1',
    backend: { kind: 'local' },
    githubRepository: 'acme/laminar',
    mskStages: ['dev'],
    outdir: join(fakeRoot(), 'bootstrap.out'),
  });
  mskBoot.synth();
  stacks['laminar-bootstrap-msk'] = JSON.parse(readFileSync(join(mskBoot.outdir, 'stacks', 'laminar-bootstrap', 'cdk.tf.json'), 'utf8')) as TerraformJson;
});

const dev = () => structuredClone(stacks['laminar-dev']) as TerraformJson & { resource: StackJson['resource'] };
type Json = Record<string, unknown>;
/** The one resource of `type` whose `key` is `value` (id and body, mutable). */
function find(json: TerraformJson, type: string, key: string, value: unknown): [string, Json] {
  const found = Object.entries(json.resource?.[type] ?? {}).filter(([, r]) => r[key] === value);
  expect(found, `${type} ${key}=${String(value)}`).toHaveLength(1);
  return found[0] as [string, Json];
}
const bucketId = (json: TerraformJson, name: string) => find(json, 'aws_s3_bucket', 'bucket', name)[0];
/** Resources of `type` attached to the bucket called `name`. */
function ofBucket(json: TerraformJson, type: string, name: string): string[] {
  const id = bucketId(json, name);
  return Object.entries(json.resource?.[type] ?? {})
    .filter(([, r]) => r.bucket === `\${aws_s3_bucket.${id}.id}`)
    .map(([k]) => k);
}
const rules = (breaches: Breach[]) => [...new Set(breaches.map((b) => b.rule))].sort();

describe('policy suite over every synthesized stack', () => {
  it.each([...STAGES.map((s) => `laminar-${s}`), 'laminar-bootstrap', 'laminar-bootstrap-msk', 'msk-variant'])('%s has no breaches', (name) => {
    const json = stacks[name] as TerraformJson;
    expect(Object.keys(json.resource ?? {}).length).toBeGreaterThan(5);
    expect(formatBreaches(name, checkStack(json))).toBe(`${name}: no policy breaches`);
  });

  it('the suite looked at what it claims to: policies, buckets, queues, functions', () => {
    const json = stacks['laminar-dev'] as TerraformJson;
    for (const type of ['aws_iam_role_policy', 'aws_s3_bucket_policy', 'aws_sqs_queue', 'aws_lambda_function_event_invoke_config', 'aws_lambda_event_source_mapping', 'aws_sns_topic_policy']) {
      expect(Object.keys(json.resource?.[type] ?? {}).length, type).toBeGreaterThan(0);
    }
    for (const type of ['aws_iam_policy', 'aws_iam_role_policy_attachment', 'aws_kms_key']) {
      expect(Object.keys(stacks['laminar-bootstrap']?.resource?.[type] ?? {}).length, type).toBeGreaterThan(0);
    }
  });

  it('every allow-list entry is needed by some stack, has a reason and names exact actions', () => {
    const ids = WILDCARD_RESOURCE_ALLOWLIST.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const e of WILDCARD_RESOURCE_ALLOWLIST) {
      expect(e.reason.length, e.id).toBeGreaterThan(40);
      for (const a of e.actions) expect(a, e.id).toMatch(/^[a-z0-9-]+:[A-Za-z0-9]+$/);
      // An entry names wildcard resources only: a narrowed one needs no entry.
      for (const r of e.resources ?? []) expect(isWildcardResource(r.replace(/<[a-z]+>/g, 'x')), `${e.id}: ${r}`).toBe(true);
      // Without the entry, some stack breaches: the entry is not stale.
      const without = WILDCARD_RESOURCE_ALLOWLIST.filter((x) => x.id !== e.id);
      const needed = Object.values(stacks).some((json) => checkStack(json, { allowList: without }).some((b) => b.rule === 'iam-wildcard-resource'));
      expect(needed, `${e.id} is used by no synthesized stack`).toBe(true);
    }
  });

  it('the permissions boundary covers every action the stage roles are granted (MSK rights only where a stage reads from MSK)', () => {
    const scope = { stage: 'dev', partition: 'aws', region: 'eu-west-1', accountId: '123456789012' };
    const plain = boundaryStatements(scope).flatMap((s) => s.Action);
    expect(plain.filter((a) => a.startsWith('ec2:') || a.startsWith('kafka'))).toEqual([]);
    for (const [name, msk] of [['laminar-dev', false], ['msk-variant', true]] as const) {
      const allowed = new Set(boundaryStatements({ ...scope, msk }).flatMap((s) => s.Action));
      const json = stacks[name] as TerraformJson;
      const roles = Object.values(json.resource?.aws_iam_role ?? {});
      expect(roles.length).toBeGreaterThan(0);
      for (const r of roles) expect(r.permissions_boundary, String(r.name)).toMatch(/:policy\/laminar-dev-boundary$/);
      for (const p of Object.values(json.resource?.aws_iam_role_policy ?? {})) {
        for (const s of parsePolicy(p.policy as string)) {
          for (const a of s.actions ?? []) expect(allowed.has(a), `${String(p.name)}: ${a} is outside deploy-permissions.ts boundaryStatements`).toBe(true);
        }
      }
    }
  });

  it('the deploy role may make the create call of every resource type the stage stacks use', () => {
    // A new resource type in the stage stack must come with its deploy permissions (deploy-permissions.ts).
    const CREATE: Record<string, string> = {
      aws_cloudwatch_dashboard: 'cloudwatch:PutDashboard',
      aws_iam_role_policy_attachment: 'iam:AttachRolePolicy',
      aws_cloudwatch_event_rule: 'events:PutRule',
      aws_cloudwatch_event_target: 'events:PutTargets',
      aws_cloudwatch_log_group: 'logs:CreateLogGroup',
      aws_cloudwatch_log_stream: 'logs:CreateLogStream',
      aws_cloudwatch_metric_alarm: 'cloudwatch:PutMetricAlarm',
      aws_dynamodb_table: 'dynamodb:CreateTable',
      aws_glue_catalog_database: 'glue:CreateDatabase',
      aws_glue_catalog_table: 'glue:CreateTable',
      aws_iam_role: 'iam:CreateRole',
      aws_iam_role_policy: 'iam:PutRolePolicy',
      aws_kinesis_firehose_delivery_stream: 'firehose:CreateDeliveryStream',
      aws_lambda_event_source_mapping: 'lambda:CreateEventSourceMapping',
      aws_lambda_function: 'lambda:CreateFunction',
      aws_lambda_function_event_invoke_config: 'lambda:PutFunctionEventInvokeConfig',
      aws_lambda_layer_version: 'lambda:PublishLayerVersion',
      aws_lambda_permission: 'lambda:AddPermission',
      aws_s3_bucket: 's3:CreateBucket',
      aws_s3_bucket_lifecycle_configuration: 's3:PutLifecycleConfiguration',
      aws_s3_bucket_notification: 's3:PutBucketNotification',
      aws_s3_bucket_ownership_controls: 's3:PutBucketOwnershipControls',
      aws_s3_bucket_policy: 's3:PutBucketPolicy',
      aws_s3_bucket_public_access_block: 's3:PutBucketPublicAccessBlock',
      aws_s3_bucket_server_side_encryption_configuration: 's3:PutEncryptionConfiguration',
      aws_s3_bucket_versioning: 's3:PutBucketVersioning',
      aws_sns_topic: 'sns:CreateTopic',
      aws_sns_topic_policy: 'sns:SetTopicAttributes',
      aws_sns_topic_subscription: 'sns:Subscribe',
      aws_sqs_queue: 'sqs:CreateQueue',
      aws_sqs_queue_policy: 'sqs:SetQueueAttributes',
      data_aws_secretsmanager_secret: 'secretsmanager:DescribeSecret',
    };
    const boot = stacks['laminar-bootstrap'] as TerraformJson;
    const attachments = Object.values(boot.resource?.aws_iam_role_policy_attachment ?? {}).filter((a) => String(a.role).includes('aws_iam_role.dev-deploy.'));
    const granted = new Set(
      attachments.flatMap((a) => {
        const id = /^\$\{aws_iam_policy\.([^.]+)\.arn\}$/.exec(String(a.policy_arn))?.[1] as string;
        return parsePolicy(boot.resource?.aws_iam_policy?.[id]?.policy as string).filter((s) => s.effect === 'Allow').flatMap((s) => s.actions ?? []);
      }),
    );
    expect(attachments).toHaveLength(4);
    const types = new Set<string>();
    for (const name of ['laminar-dev', 'msk-variant']) {
      const json = stacks[name] as TerraformJson;
      for (const t of Object.keys(json.resource ?? {})) types.add(t);
      for (const t of Object.keys(json.data ?? {})) if (!['aws_caller_identity', 'aws_partition'].includes(t)) types.add(`data_${t}`);
    }
    for (const type of [...types].sort()) {
      expect(CREATE[type], `${type}: add it to CREATE here and its calls to deploy-permissions.ts`).toBeDefined();
      expect(granted.has(CREATE[type] as string), `${type}: the deploy role lacks ${CREATE[type]}`).toBe(true);
    }
    // Reads the provider makes after a create (a missing one taints the new resource, and every
    // later refresh fails): aws_glue_catalog_table reads its partition indexes.
    for (const action of ['glue:GetTable', 'glue:GetPartitionIndexes']) expect(granted.has(action), `the deploy role lacks ${action}`).toBe(true);
  });
});

describe('the suite fails, with a clear message, on deliberately broken stacks', () => {
  it('a wildcard action in a role policy', () => {
    const json = dev();
    const [, policy] = find(json, 'aws_iam_role_policy', 'name', 'laminar-dev-pdf-manifest');
    const doc = JSON.parse(policy.policy as string);
    doc.Statement[1].Action = ['s3:*'];
    doc.Statement.push({ Effect: 'Allow', Action: '*', Resource: doc.Statement[1].Resource });
    policy.policy = JSON.stringify(doc);
    const breaches = checkStack(json);
    expect(rules(breaches)).toEqual(['iam-wildcard-action']);
    const text = formatBreaches('laminar-dev', breaches);
    expect(text).toContain('[iam-wildcard-action] aws_iam_role_policy.fn-pdf-manifest_policy_');
    expect(text).toContain('(laminar-dev-pdf-manifest): statement #2 allows wildcard action "s3:*"; grant the exact actions instead');
    expect(text).toContain(`statement #${doc.Statement.length} allows wildcard action "*"`);
  });

  it('a "*" resource outside the allow-list, an allow-listed one without its condition, NotAction, NotResource; NotPrincipal in a bucket policy', () => {
    const json = dev();
    const [policyId, policy] = find(json, 'aws_iam_role_policy', 'name', 'laminar-dev-object-audit');
    const doc = JSON.parse(policy.policy as string);
    doc.Statement.push({ Sid: 'Everything', Effect: 'Allow', Action: ['dynamodb:PutItem'], Resource: '*' });
    doc.Statement.push({ Sid: 'Buckets', Effect: 'Allow', Action: ['s3:GetObject'], Resource: 'arn:aws:s3:::*' });
    doc.Statement.push({ Sid: 'Mapping', Effect: 'Allow', Action: ['lambda:CreateEventSourceMapping'], Resource: '*' });
    doc.Statement.push({ Sid: 'AllBut', Effect: 'Allow', NotAction: ['iam:*'], Resource: 'arn:aws:s3:::x' });
    // Every resource but one: no Resource for the wildcard check to see.
    doc.Statement.push({ Sid: 'AllOthers', Effect: 'Allow', Action: ['s3:GetObject'], NotResource: 'arn:aws:s3:::laminar-dev-lake/private/*' });
    policy.policy = JSON.stringify(doc);
    // Everyone but one role may read the lake: a named AWS principal, so only NotPrincipal itself is wrong.
    const lake = bucketId(json, 'laminar-dev-lake');
    const [bucketPolicyId] = ofBucket(json, 'aws_s3_bucket_policy', 'laminar-dev-lake') as [string];
    const bucketPolicy = json.resource['aws_s3_bucket_policy']?.[bucketPolicyId] as Json;
    const bucketDoc = JSON.parse(bucketPolicy.policy as string) as { Statement: Json[] };
    bucketDoc.Statement.push({
      Sid: 'AllButTheAuditor',
      Effect: 'Allow',
      NotPrincipal: { AWS: 'arn:aws:iam::123456789012:role/auditor' },
      Action: 's3:GetObject',
      Resource: `\${aws_s3_bucket.${lake}.arn}/*`,
    });
    bucketPolicy.policy = JSON.stringify(bucketDoc);
    const role = `aws_iam_role_policy.${policyId} (laminar-dev-object-audit)`;
    expect(checkStack(json).map((b) => `${b.rule} ${b.resource}: ${b.message}`)).toEqual([
      `iam-not-action ${role}: statement "AllBut" uses NotAction (allows every other action); list the actions`,
      `iam-not-action ${role}: statement "AllOthers" uses NotResource (allows every other resource); list the resources`,
      `iam-not-action aws_s3_bucket_policy.${bucketPolicyId}: statement "AllButTheAuditor" uses NotPrincipal with Allow`,
      `iam-wildcard-resource ${role}: statement "Buckets" allows s3:GetObject on Resource "arn:aws:s3:::*"; not in policy-allowlist.ts: s3:GetObject`,
      `iam-wildcard-resource ${role}: statement "Everything" allows dynamodb:PutItem on Resource "*"; not in policy-allowlist.ts: dynamodb:PutItem`,
      `iam-wildcard-resource ${role}: statement "Mapping" is allow-listed as "lambda-create-event-source-mapping" only with condition lambda:FunctionArn`,
    ]);
  });

  it('a resource naming every resource of its type: every object of every bucket, every table, every function; narrowed patterns pass', () => {
    const json = dev();
    const [, policy] = find(json, 'aws_iam_role_policy', 'name', 'laminar-dev-object-audit');
    const doc = JSON.parse(policy.policy as string);
    const account = 'arn:aws:dynamodb:eu-west-1:123456789012';
    doc.Statement.push(
      { Sid: 'AllObjects', Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::*/*'] },
      { Sid: 'AllTables', Effect: 'Allow', Action: ['dynamodb:DeleteItem'], Resource: [`${account}:table/*`] },
      { Sid: 'AllFunctions', Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: ['arn:${data.aws_partition.partition.partition}:lambda:eu-west-1:123456789012:function:*'] },
      { Sid: 'AllSecrets', Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:*'] },
      { Sid: 'AnyType', Effect: 'Allow', Action: ['dynamodb:GetItem'], Resource: [`${account}:*/laminar-dev-x`] },
      {
        Sid: 'Narrowed',
        Effect: 'Allow',
        Action: ['s3:GetObject', 'dynamodb:GetItem'],
        Resource: [
          'arn:aws:s3:::laminar-dev-lake/bronze/*',
          'arn:aws:s3:::laminar-dev-lake/*',
          'arn:aws:s3:::laminar-dev-*/*',
          `${account}:table/laminar-dev-*`,
          `${account}:table/laminar-dev-audit/index/*`,
          'arn:aws:glue:eu-west-1:123456789012:table/*_dev/*',
          'arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/laminar-dev-*',
        ],
      },
    );
    policy.policy = JSON.stringify(doc);
    expect(checkStack(json).map((b) => `${b.rule}: ${b.message}`)).toEqual([
      'iam-wildcard-resource: statement "AllFunctions" allows lambda:InvokeFunction on Resource "arn:${data.aws_partition.partition.partition}:lambda:eu-west-1:123456789012:function:*"; not in policy-allowlist.ts: lambda:InvokeFunction',
      'iam-wildcard-resource: statement "AllObjects" allows s3:GetObject on Resource "arn:aws:s3:::*/*"; not in policy-allowlist.ts: s3:GetObject',
      'iam-wildcard-resource: statement "AllSecrets" allows secretsmanager:GetSecretValue on Resource "arn:aws:secretsmanager:eu-west-1:123456789012:secret:*"; not in policy-allowlist.ts: secretsmanager:GetSecretValue',
      `iam-wildcard-resource: statement "AllTables" allows dynamodb:DeleteItem on Resource "${account}:table/*"; not in policy-allowlist.ts: dynamodb:DeleteItem`,
      `iam-wildcard-resource: statement "AnyType" allows dynamodb:GetItem on Resource "${account}:*/laminar-dev-x"; not in policy-allowlist.ts: dynamodb:GetItem`,
    ]);
  });

  it('an allow-listed wildcard resource passes only for its entry\'s actions, resource and conditions', () => {
    const json = structuredClone(stacks['laminar-bootstrap']) as TerraformJson;
    const [id, policy] = find(json, 'aws_iam_policy', 'name', 'laminar-dev-deploy-compute');
    const doc = JSON.parse(policy.policy as string) as { Statement: Json[] };
    const mappings = doc.Statement.find((st) => st.Sid === 'Mappings') as Json;
    expect(mappings.Resource).toEqual(['arn:${data.aws_partition.partition.partition}:lambda:eu-west-1:${data.aws_caller_identity.caller.account_id}:event-source-mapping:*']);
    delete mappings.Condition;
    doc.Statement.push(
      // The mapping entries name event-source-mapping:* only: every function is another matter.
      { Sid: 'AnyFunctionTags', Effect: 'Allow', Action: ['lambda:TagResource'], Resource: ['arn:aws:lambda:eu-west-1:123456789012:function:*'] },
      // …and their own actions only.
      { Sid: 'MappingInvoke', Effect: 'Allow', Action: ['lambda:GetEventSourceMapping', 'lambda:InvokeFunction'], Resource: [mappings.Resource as string[]].flat() },
    );
    policy.policy = JSON.stringify(doc);
    const where = `aws_iam_policy.${id} (laminar-dev-deploy-compute)`;
    expect(checkStack(json).map((b) => `${b.rule} ${b.resource}: ${b.message}`)).toEqual([
      `iam-wildcard-resource ${where}: statement "AnyFunctionTags" allows lambda:TagResource on Resource "arn:aws:lambda:eu-west-1:123456789012:function:*"; not in policy-allowlist.ts: lambda:TagResource`,
      `iam-wildcard-resource ${where}: statement "MappingInvoke" allows lambda:GetEventSourceMapping, lambda:InvokeFunction on Resource "${(mappings.Resource as string[])[0]}"; not in policy-allowlist.ts: lambda:InvokeFunction`,
      `iam-wildcard-resource ${where}: statement "Mappings" is allow-listed as "lambda-event-source-mapping-changes" only with condition lambda:FunctionArn`,
    ]);
  });

  it('the MSK boundary passes only through its allow-list entries', () => {
    const json = stacks['laminar-bootstrap-msk'] as TerraformJson;
    const without = WILDCARD_RESOURCE_ALLOWLIST.filter((e) => !e.id.startsWith('msk-boundary-'));
    expect(checkStack(json, { allowList: without }).map((b) => b.message.replace(/\$\{[^}]+\}/g, '…'))).toEqual([
      'statement "MskCluster" allows kafka-cluster:Connect, kafka-cluster:DescribeClusterDynamicConfiguration, kafka:DescribeClusterV2, kafka:GetBootstrapBrokers on Resource "arn:…:kafka:eu-west-1:…:cluster/*"; not in policy-allowlist.ts: kafka-cluster:Connect, kafka-cluster:DescribeClusterDynamicConfiguration, kafka:DescribeClusterV2, kafka:GetBootstrapBrokers',
      'statement "MskGroups" allows kafka-cluster:AlterGroup, kafka-cluster:DescribeGroup on Resource "arn:…:kafka:eu-west-1:…:group/*/*/laminar-dev-*"; not in policy-allowlist.ts: kafka-cluster:AlterGroup, kafka-cluster:DescribeGroup',
      'statement "MskTopics" allows kafka-cluster:DescribeTopic, kafka-cluster:ReadData on Resource "arn:…:kafka:eu-west-1:…:topic/*/*/dev.*"; not in policy-allowlist.ts: kafka-cluster:DescribeTopic, kafka-cluster:ReadData',
    ]);
  });

  it('a wildcard action spelt with "?"', () => {
    const json = dev();
    const [, policy] = find(json, 'aws_iam_role_policy', 'name', 'laminar-dev-pdf-manifest');
    const doc = JSON.parse(policy.policy as string);
    doc.Statement[1].Action = ['s3:GetObjec?'];
    policy.policy = JSON.stringify(doc);
    expect(checkStack(json).map((b) => `${b.rule}: ${b.message}`)).toEqual(['iam-wildcard-action: statement #2 allows wildcard action "s3:GetObjec?"; grant the exact actions instead']);
  });

  it('a service principal in a queue, bucket, topic or key policy without a source condition (confused deputy)', () => {
    const json = dev();
    const [queuePolicyId, queuePolicy] = Object.entries(json.resource['aws_sqs_queue_policy'] ?? {}).find(([, p]) => String(p.policy).includes('"UndeliveredFromTheSchedules"')) as [string, Json];
    const doc = JSON.parse(queuePolicy.policy as string) as { Statement: Json[] };
    const undelivered = doc.Statement.find((st) => st.Sid === 'UndeliveredFromTheSchedules') as Json;
    doc.Statement.push(
      { Sid: 'AnyRule', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: undelivered.Resource },
      // Conditions a request without the key passes, or that exclude one account only, pin nothing.
      {
        Sid: 'IfExists',
        Effect: 'Allow',
        Principal: { Service: ['events.amazonaws.com'] },
        Action: 'sqs:SendMessage',
        Resource: undelivered.Resource,
        Condition: { ArnEqualsIfExists: { 'aws:SourceArn': 'arn:aws:events:eu-west-1:123456789012:rule/x' }, StringNotEquals: { 'aws:SourceAccount': '999999999999' } },
      },
      // Any operator on either key will do.
      { Sid: 'ByAccount', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: undelivered.Resource, Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } } },
      // S3 notifications: a bucket ARN names no account, so the account is wanted too.
      { Sid: 'FromABucket', Effect: 'Allow', Principal: { Service: 's3.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: undelivered.Resource, Condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:s3:::laminar-dev-lake' } } },
      {
        Sid: 'FromOurBucket',
        Effect: 'Allow',
        Principal: { Service: 's3.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: undelivered.Resource,
        Condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:s3:::laminar-dev-lake' }, StringEquals: { 'aws:SourceAccount': '123456789012' } },
      },
    );
    queuePolicy.policy = JSON.stringify(doc);
    // The alarm topic's policy: CloudWatch may publish for this account's stage alarms only.
    const [topicPolicyId, topicPolicy] = Object.entries(json.resource['aws_sns_topic_policy'] ?? {})[0] as [string, Json];
    const topicDoc = JSON.parse(topicPolicy.policy as string) as { Statement: Json[] };
    const publish = topicDoc.Statement.find((st) => st.Sid === 'CloudWatchAlarmsPublish') as Json;
    delete publish.Condition;
    topicPolicy.policy = JSON.stringify(topicDoc);
    const queueWhere = `aws_sqs_queue_policy.${queuePolicyId}`;
    expect(checkStack(json).map((b) => `${b.rule} ${b.resource}: ${b.message}`)).toEqual([
      `iam-service-principal-unscoped aws_sns_topic_policy.${topicPolicyId}: statement "CloudWatchAlarmsPublish" allows sns:Publish to service principal cloudwatch.amazonaws.com without an aws:SourceArn or aws:SourceAccount condition: any account's resources could have the service act here (confused deputy)`,
      `iam-service-principal-unscoped ${queueWhere}: statement "AnyRule" allows sqs:SendMessage to service principal events.amazonaws.com without an aws:SourceArn or aws:SourceAccount condition: any account's resources could have the service act here (confused deputy)`,
      `iam-service-principal-unscoped ${queueWhere}: statement "FromABucket" allows sqs:SendMessage to s3.amazonaws.com without an aws:SourceAccount condition: a bucket ARN names no account, and a deleted bucket's name can be taken by another account`,
      `iam-service-principal-unscoped ${queueWhere}: statement "IfExists" allows sqs:SendMessage to service principal events.amazonaws.com without an aws:SourceArn or aws:SourceAccount condition: any account's resources could have the service act here (confused deputy)`,
    ]);
  });

  it('a KMS key policy letting a service use the key for any account; a role trust policy needs no source condition', () => {
    const json = structuredClone(stacks['laminar-bootstrap']) as TerraformJson;
    const [keyId, key] = Object.entries(json.resource?.aws_kms_key ?? {}).find(([id]) => id.startsWith('dev-alarm-topic-key')) as [string, Json];
    const doc = JSON.parse(key.policy as string) as { Statement: Json[] };
    delete (doc.Statement.find((st) => st.Sid === 'CloudWatchAlarmsPublish') as Json).Condition;
    key.policy = JSON.stringify(doc);
    const [, role] = find(json, 'aws_iam_role', 'name', 'laminar-dev-deploy');
    role.assume_role_policy = JSON.stringify({ Statement: { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' } });
    expect(checkStack(json).map((b) => `${b.rule} ${b.resource}: ${b.message}`)).toEqual([
      `iam-service-principal-unscoped aws_kms_key.${keyId}: statement "CloudWatchAlarmsPublish" allows kms:Decrypt, kms:GenerateDataKey to service principal cloudwatch.amazonaws.com without an aws:SourceArn or aws:SourceAccount condition: any account's resources could have the service act here (confused deputy)`,
    ]);
  });

  it('a Lambda permission for a service without source_arn or source_account; S3 without source_account; principal "*"', () => {
    const json = dev();
    const [fnId] = find(json, 'aws_lambda_function', 'function_name', 'laminar-dev-csv-validator');
    const permissions = json.resource['aws_lambda_permission'] as Record<string, Json>;
    const [scheduleId, schedule] = Object.entries(permissions).find(([, p]) => p.principal === 'events.amazonaws.com') as [string, Json];
    delete schedule.source_arn;
    const fn = `\${aws_lambda_function.${fnId}.function_name}`;
    permissions['from-any-bucket'] = { action: 'lambda:InvokeFunction', function_name: fn, principal: 's3.amazonaws.com' };
    permissions['from-a-bucket-name'] = { action: 'lambda:InvokeFunction', function_name: fn, principal: 's3.amazonaws.com', source_arn: 'arn:aws:s3:::laminar-dev-lake' };
    permissions['from-our-bucket'] = { action: 'lambda:InvokeFunction', function_name: fn, principal: 's3.amazonaws.com', source_arn: 'arn:aws:s3:::laminar-dev-lake', source_account: '123456789012' };
    permissions['from-anyone'] = { action: 'lambda:Invoke*', function_name: fn, principal: '*' };
    permissions['from-our-org'] = { action: 'lambda:InvokeFunction', function_name: fn, principal: '*', principal_org_id: 'o-abc123' };
    permissions['from-another-account'] = { action: 'lambda:InvokeFunction', function_name: fn, principal: '210987654321' };
    const messages = checkStack(json)
      .filter((b) => b.rule.startsWith('iam-'))
      .map((b) => `${b.rule} ${b.resource}: ${b.message}`);
    expect(messages).toEqual([
      'iam-public-principal aws_lambda_permission.from-anyone: lets principal "*" invoke the function with no source_arn, source_account or principal_org_id',
      `iam-service-principal-unscoped aws_lambda_permission.${scheduleId}: lets events.amazonaws.com invoke the function with neither source_arn nor source_account: any account's resources could have the service invoke it (confused deputy)`,
      "iam-service-principal-unscoped aws_lambda_permission.from-a-bucket-name: lets s3.amazonaws.com invoke the function without source_account: a bucket ARN names no account, and a deleted bucket's name can be taken by another account",
      "iam-service-principal-unscoped aws_lambda_permission.from-any-bucket: lets s3.amazonaws.com invoke the function with neither source_arn nor source_account: any account's resources could have the service invoke it (confused deputy)",
      'iam-wildcard-action aws_lambda_permission.from-anyone: allows wildcard action "lambda:Invoke*"; grant the exact actions instead',
    ]);
  });

  it('the MSK network-interface statement passes only through its allow-list entry', () => {
    const json = stacks['msk-variant'] as TerraformJson;
    const without = WILDCARD_RESOURCE_ALLOWLIST.filter((e) => e.id !== 'msk-poller-network');
    const breaches = checkStack(json, { allowList: without });
    expect(breaches).toHaveLength(1);
    expect(breaches[0]?.message).toMatch(/allows ec2:CreateNetworkInterface, .* on Resource "\*"; not in policy-allowlist\.ts: ec2:CreateNetworkInterface/);
  });

  it('a bucket without default encryption', () => {
    const json = dev();
    for (const id of ofBucket(json, 'aws_s3_bucket_server_side_encryption_configuration', 'laminar-dev-lake')) {
      delete json.resource['aws_s3_bucket_server_side_encryption_configuration']?.[id];
    }
    const breaches = checkStack(json);
    expect(breaches).toEqual([
      {
        rule: 's3-encryption',
        resource: `aws_s3_bucket.${bucketId(json, 'laminar-dev-lake')} (laminar-dev-lake)`,
        message: 'no default encryption (aws_s3_bucket_server_side_encryption_configuration with apply_server_side_encryption_by_default)',
      },
    ]);
  });

  it('a bucket without its TLS-only policy, or with one that does not deny', () => {
    const json = dev();
    for (const id of ofBucket(json, 'aws_s3_bucket_policy', 'laminar-dev-documents')) delete json.resource['aws_s3_bucket_policy']?.[id];
    const [policyId] = ofBucket(json, 'aws_s3_bucket_policy', 'laminar-dev-lake');
    const lakePolicy = json.resource['aws_s3_bucket_policy']?.[policyId as string] as Json;
    const doc = JSON.parse(lakePolicy.policy as string);
    doc.Statement[0].Condition = { Bool: { 'aws:SecureTransport': 'true' } };
    lakePolicy.policy = JSON.stringify(doc);
    const breaches = checkStack(json);
    expect(rules(breaches)).toEqual(['s3-tls-only']);
    expect(breaches.map((b) => b.resource).sort()).toEqual(
      [`aws_s3_bucket.${bucketId(json, 'laminar-dev-documents')} (laminar-dev-documents)`, `aws_s3_bucket.${bucketId(json, 'laminar-dev-lake')} (laminar-dev-lake)`].sort(),
    );
    expect(breaches[0]?.message).toBe('no bucket policy statement denying s3:* to Principal "*" on the bucket and its objects when aws:SecureTransport is false');
  });

  it('a queue without a policy denying it to requests without TLS; a topic whose deny names another action', () => {
    const json = dev();
    const policies = json.resource['aws_sqs_queue_policy'] ?? {};
    const queues = Object.entries(json.resource['aws_sqs_queue'] ?? {});
    const [dlqId] = queues.find(([, q]) => q.name === 'laminar-dev-csv-validator-dlq') as [string, Json];
    for (const [id, p] of Object.entries(policies)) if (p.queue_url === `\${aws_sqs_queue.${dlqId}.url}`) delete policies[id];
    const [topicPolicyId, topicPolicy] = Object.entries(json.resource['aws_sns_topic_policy'] ?? {})[0] as [string, Json];
    const doc = JSON.parse(topicPolicy.policy as string);
    doc.Statement = doc.Statement.map((st: Json) => (st.Effect === 'Deny' ? { ...st, Action: 'sns:Subscribe' } : st));
    (json.resource['aws_sns_topic_policy'] as Record<string, Json>)[topicPolicyId] = { ...topicPolicy, policy: JSON.stringify(doc) };
    const breaches = checkStack(json);
    expect(breaches.map((b) => `${b.rule} ${b.resource}`)).toEqual([
      expect.stringMatching(/^sns-tls-only aws_sns_topic\.[\w-]+ \(laminar-dev-alarms\)$/),
      `sqs-tls-only aws_sqs_queue.${dlqId} (laminar-dev-csv-validator-dlq)`,
    ]);
  });

  it('a bucket without any public access block', () => {
    const json = dev();
    const blocks = ofBucket(json, 'aws_s3_bucket_public_access_block', 'laminar-dev-documents');
    expect(blocks).toHaveLength(1);
    for (const id of blocks) delete json.resource['aws_s3_bucket_public_access_block']?.[id];
    expect(checkStack(json)).toEqual([
      {
        rule: 's3-public-access-block',
        resource: `aws_s3_bucket.${bucketId(json, 'laminar-dev-documents')} (laminar-dev-documents)`,
        message: 'no aws_s3_bucket_public_access_block',
      },
    ]);
  });

  it('a written bucket without versioning, a public access block with a flag off', () => {
    const json = dev();
    for (const id of ofBucket(json, 'aws_s3_bucket_versioning', 'laminar-dev-lake')) delete json.resource['aws_s3_bucket_versioning']?.[id];
    const [pab] = ofBucket(json, 'aws_s3_bucket_public_access_block', 'laminar-dev-documents');
    (json.resource['aws_s3_bucket_public_access_block']?.[pab as string] as Json).restrict_public_buckets = false;
    const messages = checkStack(json).map((b) => `${b.rule}: ${b.message}`);
    expect(messages).toHaveLength(2);
    expect(messages[0]).toBe('s3-public-access-block: public access block leaves restrict_public_buckets unset or false');
    expect(messages[1]).toMatch(/^s3-versioning: objects are written \(by aws_iam_role_policy\.firehose-store-inventory_policy_\w+, aws_iam_role_policy\.fn-csv-validator_policy_\w+ \(laminar-dev-csv-validator\), .*\) but versioning is not enabled$/);
  });

  it('a queue without encryption, a table, Firehose delivery stream, topic and log group without theirs', () => {
    const json = dev();
    find(json, 'aws_sqs_queue', 'name', 'laminar-dev-bronze-arrivals')[1].sqs_managed_sse_enabled = false;
    delete find(json, 'aws_dynamodb_table', 'name', 'laminar-dev-rss-dedup')[1].server_side_encryption;
    find(json, 'aws_kinesis_firehose_delivery_stream', 'name', 'laminar-dev-store-inventory')[1].server_side_encryption = { enabled: false };
    delete find(json, 'aws_sns_topic', 'name', 'laminar-dev-alarms')[1].kms_master_key_id;
    delete find(json, 'aws_cloudwatch_log_group', 'name', '/aws/lambda/laminar-dev-object-audit')[1].retention_in_days;
    const text = formatBreaches('laminar-dev', checkStack(json));
    expect(text.split('\n')[0]).toBe('laminar-dev: 5 policy breaches');
    expect(text).toMatch(/\[sqs-encryption\] aws_sqs_queue\.\S+ \(laminar-dev-bronze-arrivals\): neither sqs_managed_sse_enabled = true nor kms_master_key_id/);
    expect(text).toMatch(/\[dynamodb-encryption\] aws_dynamodb_table\.\S+ \(laminar-dev-rss-dedup\): server_side_encryption \{ enabled = true \} is required/);
    expect(text).toMatch(/\[firehose-encryption\] aws_kinesis_firehose_delivery_stream\.\S+ \(laminar-dev-store-inventory\)/);
    expect(text).toMatch(/\[sns-encryption\] aws_sns_topic\.\S+ \(laminar-dev-alarms\): kms_master_key_id is required/);
    expect(text).toMatch(/\[log-retention\] aws_cloudwatch_log_group\.\S+ \(\/aws\/lambda\/laminar-dev-object-audit\): retention_in_days must be set/);
  });

  it('a Kinesis data stream without KMS encryption (a Firehose reading from it is judged by the stream)', () => {
    // The stage stacks have no Kinesis stream today: add one unencrypted and one encrypted, and a
    // delivery stream reading the unencrypted one (no server_side_encryption of its own: its source's is what counts).
    const json = dev();
    const [firehoseId, firehose] = find(json, 'aws_kinesis_firehose_delivery_stream', 'name', 'laminar-dev-store-inventory');
    json.resource['aws_kinesis_stream'] = {
      plain: { name: 'laminar-dev-plain', shard_count: 1, encryption_type: 'NONE' },
      keyed: { name: 'laminar-dev-keyed', shard_count: 1, encryption_type: 'KMS', kms_key_id: 'alias/aws/kinesis' },
    };
    const fromStream = structuredClone(firehose);
    fromStream.name = 'laminar-dev-from-plain';
    fromStream.destination = 'extended_s3';
    fromStream.kinesis_source_configuration = { kinesis_stream_arn: '${aws_kinesis_stream.plain.arn}', role_arn: (firehose.extended_s3_configuration as Json).role_arn };
    delete fromStream.server_side_encryption;
    (json.resource['aws_kinesis_firehose_delivery_stream'] as Record<string, Json>)[`${firehoseId}-from-plain`] = fromStream;
    expect(checkStack(json)).toEqual([{ rule: 'kinesis-encryption', resource: 'aws_kinesis_stream.plain (laminar-dev-plain)', message: 'encryption_type = "KMS" is required' }]);
  });

  it('a KMS key that does not rotate', () => {
    const json = structuredClone(stacks['laminar-bootstrap']) as TerraformJson;
    const [keyId, key] = Object.entries(json.resource?.aws_kms_key ?? {}).find(([id]) => id.startsWith('dev-alarm-topic-key')) as [string, Json];
    expect(key.enable_key_rotation).toBe(true);
    key.enable_key_rotation = false;
    expect(checkStack(json)).toEqual([{ rule: 'kms-rotation', resource: `aws_kms_key.${keyId}`, message: 'enable_key_rotation = true is required' }]);
  });

  it('secret material in a function environment, by name or by value', () => {
    const json = dev();
    const [, fn] = find(json, 'aws_lambda_function', 'function_name', 'laminar-dev-rss-producer');
    const vars = (fn.environment as { variables: Record<string, string> }).variables;
    vars.DB_PASSWORD = 'hunter2';
    vars.FEED_URLS = 'https://reader:s3cr3t@feeds.example.com/rss.xml';
    vars.DEBUG_KEY = 'AKIAIOSFODNN7EXAMPLE';
    vars.SIGNING_KEY_PEM = '-----BEGIN PRIVATE KEY-----\nMIIE';
    const messages = checkStack(json).map((b) => b.message);
    expect(messages).toEqual([
      'environment variable DB_PASSWORD looks like secret material; pass the secret by ARN (a *_ARN / *_NAME variable holding an ARN or parameter name) and read it at run time',
      'environment variable DEBUG_KEY holds what looks like an AWS access key id; secrets go by ARN only',
      'environment variable FEED_URLS holds what looks like a password in a URL; secrets go by ARN only',
      'environment variable SIGNING_KEY_PEM holds what looks like a PEM block (key or certificate); secrets go by ARN only',
    ]);
    // The real *_SECRET_ARN variable (a reference to the secret's ARN) is fine.
    expect(vars.KAFKA_CREDENTIALS_SECRET_ARN).toMatch(/^\$\{data\.aws_secretsmanager_secret\./);
  });

  it('value scanning: key material yes, URLs, names and references no', () => {
    expect(secretInValue('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY12')).toBe('a long base64 blob (key material)');
    expect(secretInValue('postgres://app:pw@db:5432/x?sslmode=require')).toBe('a password in a URL');
    expect(secretInValue('https://api.example.com/v1?api_key=abc')).toBe('a password or token parameter');
    expect(secretInValue('ghp_0123456789abcdefghijABCDEFGHIJ012345')).toBe('an API token');
    for (const fine of [
      'https://feeds.bbci.co.uk/news/world/rss.xml,https://www.theguardian.com/world/rss',
      '${data.aws_secretsmanager_secret.secret-kafka-credentials.arn}',
      'inventory/year=!{timestamp:yyyy}/month=!{timestamp:MM}/',
      '--enable-source-maps',
      '/laminar/dev/api-token',
    ]) {
      expect(secretInValue(fine), fine).toBeUndefined();
    }
  });

  it('an async function without an on-failure destination, or without an alarm on it', () => {
    const json = dev();
    const [, fn] = find(json, 'aws_lambda_function', 'function_name', 'laminar-dev-csv-validator');
    const cfg = Object.values(json.resource['aws_lambda_function_event_invoke_config'] ?? {}).find((c) => String(c.function_name).includes('fn-csv-validator_')) as Json;
    delete cfg.destination_config;
    // rss-producer: its DLQ alarm is gone.
    const [alarmId] = find(json, 'aws_cloudwatch_metric_alarm', 'alarm_name', 'laminar-dev-rss-producer-dlq-not-empty');
    delete json.resource['aws_cloudwatch_metric_alarm']?.[alarmId];
    // polymarket-producer: no invoke config at all, though EventBridge invokes it on a schedule.
    for (const [id, c] of Object.entries(json.resource['aws_lambda_function_event_invoke_config'] ?? {})) {
      if (String(c.function_name).includes('fn-polymarket-producer_')) delete json.resource['aws_lambda_function_event_invoke_config']?.[id];
    }
    const breaches = checkStack(json);
    expect(fn.function_name).toBe('laminar-dev-csv-validator');
    // cdktf's logical ids end in a hash of the construct path; the rest of each message is stable.
    const unhashed = (text: string) => text.replace(/_[0-9A-F]{8}\b/g, '');
    expect(breaches.map((b) => unhashed(`${b.rule} ${b.resource}: ${b.message}`))).toEqual([
      'async-on-failure aws_lambda_function.fn-csv-validator_function (laminar-dev-csv-validator): is invoked asynchronously (an async invoke config; EventBridge target route-4c80ae18_target-fn-csv-validator; permission route-4c80ae18_permission-fn-csv-validator for events.amazonaws.com) but has no on-failure destination (aws_lambda_function_event_invoke_config.destination_config.on_failure)',
      'async-on-failure aws_lambda_function.fn-polymarket-producer_function (laminar-dev-polymarket-producer): is invoked asynchronously (EventBridge target fn-polymarket-producer_schedule-0-target; permission fn-polymarket-producer_schedule-0-permission for events.amazonaws.com) but has no on-failure destination (aws_lambda_function_event_invoke_config.destination_config.on_failure)',
      'failure-alarm aws_lambda_function.fn-rss-producer_function (laminar-dev-rss-producer): on-failure destination aws_sqs_queue.fn-rss-producer_dlq (laminar-dev-rss-producer-dlq) has no CloudWatch alarm (AWS/SQS, QueueName)',
    ]);
  });

  it('an on-failure destination that is not an SQS queue of the stack, so no alarm on it can be proven', () => {
    const json = dev();
    // csv-validator's async failures go to the alarm topic instead of its DLQ.
    const [topicId] = find(json, 'aws_sns_topic', 'name', 'laminar-dev-alarms');
    const [fnId] = find(json, 'aws_lambda_function', 'function_name', 'laminar-dev-csv-validator');
    const cfg = Object.values(json.resource['aws_lambda_function_event_invoke_config'] ?? {}).find((c) => c.function_name === `\${aws_lambda_function.${fnId}.function_name}`) as Json;
    const topic = `\${aws_sns_topic.${topicId}.arn}`;
    cfg.destination_config = { on_failure: { destination: topic } };
    // A Kafka mapping's failures go to a queue of another stack (a literal ARN no queue here has).
    const [mappingId, mapping] = Object.entries(json.resource['aws_lambda_event_source_mapping'] ?? {})[0] as [string, Json];
    const elsewhere = 'arn:aws:sqs:eu-west-1:123456789012:laminar-prod-kafka-archiver-dlq';
    mapping.destination_config = { on_failure: { destination_arn: elsewhere } };
    expect(checkStack(json).map((b) => `${b.rule} ${b.resource}: ${b.message}`)).toEqual([
      `failure-alarm aws_lambda_event_source_mapping.${mappingId}: on-failure destination ${elsewhere} is not an SQS queue of this stack, so no depth alarm can be proven`,
      `failure-alarm aws_lambda_function.${fnId} (laminar-dev-csv-validator): on-failure destination ${topic} is not an SQS queue of this stack, so no depth alarm can be proven`,
    ]);
  });

  it('a Kafka mapping without an on-failure destination; timeouts against the trigger', () => {
    const json = dev();
    const [, mapping] = Object.entries(json.resource['aws_lambda_event_source_mapping'] ?? {})[0] as [string, Json];
    delete mapping.destination_config;
    mapping.maximum_batching_window_in_seconds = 300;
    find(json, 'aws_lambda_function', 'function_name', 'laminar-dev-kafka-archiver')[1].timeout = 120;
    delete find(json, 'aws_lambda_function', 'function_name', 'laminar-dev-object-audit')[1].timeout;
    const messages = checkStack(json).map((b) => `${b.rule}: ${b.message}`);
    expect(messages).toEqual([
      'lambda-timeout: function timeout 120 s is not above the batching window 300 s',
      'lambda-timeout: timeout is not set (Lambda would use 3 s)',
      'mapping-on-failure: Kafka event source mapping has no on-failure destination (destination_config.on_failure.destination_arn)',
    ]);
  });

  it('a Kafka mapping with more than one topic, which AWS refuses at apply', () => {
    const json = dev();
    const [, mapping] = Object.entries(json.resource['aws_lambda_event_source_mapping'] ?? {})[0] as [string, Json];
    mapping.topics = ['dev.a', 'dev.b'];
    expect(checkStack(json).map((b) => `${b.rule}: ${b.message}`)).toEqual(['mapping-one-topic: names 2 topics (dev.a, dev.b): AWS takes exactly one per event source mapping']);
  });

  it('an SQS-triggered function whose timeout outlasts the visibility timeout', () => {
    const json = dev();
    const [queueId, queue] = find(json, 'aws_sqs_queue', 'name', 'laminar-dev-bronze-arrivals');
    queue.visibility_timeout_seconds = 60;
    const [fnId] = find(json, 'aws_lambda_function', 'function_name', 'laminar-dev-csv-validator');
    (json.resource['aws_lambda_event_source_mapping'] as Record<string, Json>)['sqs'] = {
      event_source_arn: `\${aws_sqs_queue.${queueId}.arn}`,
      function_name: `\${aws_lambda_function.${fnId}.arn}`,
    };
    expect(checkStack(json).map((b) => b.message)).toEqual([
      `function timeout 900 s exceeds the visibility timeout 60 s of aws_sqs_queue.${queueId} (laminar-dev-bronze-arrivals): messages would be redelivered mid-run`,
    ]);
  });

  it('alarms without actions, a function without its log group, default tags missing', () => {
    const json = dev();
    delete find(json, 'aws_cloudwatch_metric_alarm', 'alarm_name', 'laminar-dev-pdf-manifest-errors')[1].alarm_actions;
    const [, fn] = find(json, 'aws_lambda_function', 'function_name', 'laminar-dev-pdf-manifest');
    delete fn.logging_config;
    const [groupId] = find(json, 'aws_cloudwatch_log_group', 'name', '/aws/lambda/laminar-dev-pdf-manifest');
    delete json.resource['aws_cloudwatch_log_group']?.[groupId];
    (json.provider as { aws: Array<{ default_tags: Array<{ tags: Json }> }> }).aws[0]!.default_tags[0]!.tags = { project: 'laminar' };
    delete (fn.tags as Record<string, string>).git_sha;
    expect(checkStack(json).map((b) => `${b.rule}: ${b.message}`)).toEqual([
      'alarm-actions: has no alarm_actions: it would change state without telling anyone',
      'default-tags: no git_sha tag (the commit its code is from)',
      'default-tags: default_tags lack stage',
      'lambda-log-group: writes to no log group of this stack (Lambda would create one without retention)',
    ]);
  });

  it('a stack with AWS resources and no aws provider block (so no default_tags at all)', () => {
    const json = dev();
    delete (json.provider as Record<string, unknown>).aws;
    expect(checkStack(json)).toEqual([{ rule: 'default-tags', resource: 'provider.aws', message: 'no aws provider block' }]);
  });

  it('a GitHub OIDC trust that is not pinned to one repository environment', () => {
    const json = structuredClone(stacks['laminar-bootstrap']) as TerraformJson;
    const [, role] = find(json, 'aws_iam_role', 'name', 'laminar-dev-deploy');
    const trust = JSON.parse(role.assume_role_policy as string);
    trust.Statement[0].Condition = { StringLike: { 'token.actions.githubusercontent.com:sub': 'repo:acme/*' } };
    role.assume_role_policy = JSON.stringify(trust);
    expect(checkStack(json).map((b) => b.message)).toEqual([
      'statement "GitHubEnvironment" must pin token.actions.githubusercontent.com:sub with StringEquals to exact "repo:<owner>/<name>:…" subjects (no wildcards)',
      'statement "GitHubEnvironment" must require StringEquals token.actions.githubusercontent.com:aud = sts.amazonaws.com',
    ]);
  });

  it('reads aws_iam_policy_document data sources and role inline policies too', () => {
    const json: TerraformJson = {
      provider: { aws: [{ default_tags: [{ tags: { project: 'x', stage: 'dev' } }] }] },
      data: {
        aws_iam_policy_document: {
          doc: { statement: [{ effect: 'Allow', actions: ['sqs:*'], resources: ['arn:aws:sqs:eu-west-1:1:q'], principals: [{ type: 'AWS', identifiers: ['*'] }] }] },
        },
      },
      resource: {
        aws_sqs_queue_policy: { qp: { queue_url: 'u', policy: '${data.aws_iam_policy_document.doc.json}' } },
        aws_iam_role: {
          r: {
            name: 'r',
            assume_role_policy: JSON.stringify({ Statement: { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' } }),
            inline_policy: [{ name: 'inline', policy: JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 'logs:PutLogEvents', Resource: '*' }] }) }],
          },
        },
      },
    };
    expect(checkStack(json).map((b) => `${b.rule} ${b.resource}: ${b.message}`)).toEqual([
      'iam-public-principal aws_sqs_queue_policy.qp: statement #1 allows Principal "*" without a source account / ARN condition',
      'iam-wildcard-action aws_sqs_queue_policy.qp: statement #1 allows wildcard action "sqs:*"; grant the exact actions instead',
      'iam-wildcard-resource aws_iam_role.r (r) inline inline: statement #1 allows logs:PutLogEvents on Resource "*"; not in policy-allowlist.ts: logs:PutLogEvents',
    ]);
  });

  it('holds a deploy role\'s inline policies to the deploy-role rules, and no other role\'s', () => {
    const trust = (federated: boolean) =>
      JSON.stringify({
        Statement: {
          Effect: 'Allow',
          Principal: federated ? { Federated: 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com' } : { Service: 'lambda.amazonaws.com' },
          Action: federated ? 'sts:AssumeRoleWithWebIdentity' : 'sts:AssumeRole',
        },
      });
    const keyWrite = JSON.stringify({ Statement: [{ Sid: 'Keys', Effect: 'Allow', Action: 'kms:PutKeyPolicy', Resource: 'arn:aws:kms:eu-west-1:123456789012:key/k' }] });
    const json: TerraformJson = {
      provider: { aws: [{ default_tags: [{ tags: { project: 'x', stage: 'dev' } }] }] },
      resource: {
        aws_iam_role: {
          deploy: { name: 'deploy', assume_role_policy: trust(true), inline_policy: [{ name: 'keys', policy: keyWrite }] },
          // Named so that the deploy role's label is the start of its own.
          deployer: { name: 'deployer', assume_role_policy: trust(false), inline_policy: [{ name: 'keys', policy: keyWrite }] },
        },
      },
    };
    expect(checkStack(json).filter((b) => b.rule === 'deploy-kms-write').map((b) => b.resource)).toEqual(['aws_iam_role.deploy (deploy) inline keys']);
  });

  it('a deploy role with KMS write rights, and tagging allowed where the resource tag only "IfExists" (the stage alarm key’s old statements)', () => {
    const json = structuredClone(stacks['laminar-bootstrap']) as TerraformJson;
    const [id, policy] = find(json, 'aws_iam_policy', 'name', 'laminar-dev-deploy-observability');
    const doc = JSON.parse(policy.policy as string) as { Statement: Json[] };
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/*';
    doc.Statement.push(
      // An untagged key passes StringEqualsIfExists: the role could tag any such key with its stage, then own it through Keys.
      {
        Sid: 'KeyTagOnCreate',
        Effect: 'Allow',
        Action: ['kms:TagResource'],
        Resource: [key],
        Condition: { StringEquals: { 'aws:RequestTag/stage': 'dev' }, StringEqualsIfExists: { 'aws:ResourceTag/stage': 'dev' } },
      },
      {
        Sid: 'Keys',
        Effect: 'Allow',
        Action: ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion'],
        Resource: [key],
        Condition: { StringEquals: { 'aws:ResourceTag/stage': 'dev' } },
      },
    );
    policy.policy = JSON.stringify(doc);
    const where = `aws_iam_policy.${id} (laminar-dev-deploy-observability)`;
    expect(checkStack(json).map((b) => `${b.rule} ${b.resource}: ${b.message}`)).toEqual([
      `deploy-kms-write ${where}: statement "KeyTagOnCreate" allows kms:TagResource to a deploy role; deploy roles get no KMS write rights (the bootstrap stack creates the stage's key)`,
      `deploy-kms-write ${where}: statement "Keys" allows kms:PutKeyPolicy, kms:ScheduleKeyDeletion to a deploy role; deploy roles get no KMS write rights (the bootstrap stack creates the stage's key)`,
      `iam-tag-if-exists ${where}: statement "KeyTagOnCreate" allows kms:TagResource under StringEqualsIfExists aws:ResourceTag/stage, which a resource without that tag passes: whoever holds it can tag, and so claim, any untagged resource; require the tag without IfExists`,
      // key/* is every key of the account, whatever the tag conditions narrow it to.
      `iam-wildcard-resource ${where}: statement "KeyTagOnCreate" allows kms:TagResource on Resource "${key}"; not in policy-allowlist.ts: kms:TagResource`,
      `iam-wildcard-resource ${where}: statement "Keys" allows kms:DescribeKey, kms:GetKeyPolicy, kms:PutKeyPolicy, kms:ScheduleKeyDeletion on Resource "${key}"; not in policy-allowlist.ts: kms:DescribeKey, kms:GetKeyPolicy, kms:PutKeyPolicy, kms:ScheduleKeyDeletion`,
    ]);
  });

  it('tagging on an "IfExists" resource-tag condition in any policy; the same tag required outright is fine', () => {
    const json = dev();
    const [, policy] = find(json, 'aws_iam_role_policy', 'name', 'laminar-dev-pdf-manifest');
    const doc = JSON.parse(policy.policy as string) as { Statement: Json[] };
    const queue = 'arn:aws:sqs:eu-west-1:123456789012:laminar-dev-*';
    doc.Statement.push(
      { Effect: 'Allow', Action: ['sqs:TagQueue'], Resource: [queue], Condition: { 'ForAllValues:StringLikeIfExists': { 'aws:ResourceTag/owner': ['pdf-*'] } } },
      { Effect: 'Allow', Action: ['sqs:TagQueue'], Resource: [queue], Condition: { StringEquals: { 'aws:ResourceTag/owner': 'pdf-manifest' } } },
      { Effect: 'Allow', Action: ['sqs:GetQueueUrl'], Resource: [queue], Condition: { StringEqualsIfExists: { 'aws:ResourceTag/owner': 'pdf-manifest' } } },
    );
    policy.policy = JSON.stringify(doc);
    expect(checkStack(json).map((b) => `${b.rule}: ${b.message}`)).toEqual([
      `iam-tag-if-exists: statement #${doc.Statement.length - 2} allows sqs:TagQueue under ForAllValues:StringLikeIfExists aws:ResourceTag/owner, which a resource without that tag passes: whoever holds it can tag, and so claim, any untagged resource; require the tag without IfExists`,
    ]);
  });

  it('an unreadable policy is a breach, not a pass', () => {
    const json = dev();
    find(json, 'aws_iam_role_policy', 'name', 'laminar-dev-pdf-manifest')[1].policy = '${file("policy.json")}';
    expect(checkStack(json).map((b) => b.rule)).toEqual(['iam-unparsable']);
  });

  it('a policy referring to an aws_iam_policy_document that is not in the stack is a breach, not a pass', () => {
    const json = dev();
    const [id, policy] = find(json, 'aws_iam_role_policy', 'name', 'laminar-dev-pdf-manifest');
    policy.policy = '${data.aws_iam_policy_document.gone.json}';
    expect(checkStack(json).map((b) => `${b.rule} ${b.resource}: ${b.message}`)).toEqual([
      `iam-unparsable aws_iam_role_policy.${id} (laminar-dev-pdf-manifest): refers to a policy document \${data.aws_iam_policy_document.gone.json} that is not in the stack`,
    ]);
  });
});

describe('what the spec schema refuses before the suite ever runs', () => {
  it('a wildcard action in a spec', () => {
    expect(() =>
      defineFunction({
        name: 'greedy',
        memoryMb: 128,
        timeoutS: 10,
        triggers: [{ kind: 'invoke' }],
        permissions: [{ actions: ['s3:*'], resource: { bucket: 'documents', prefix: '*' } }],
      }),
    ).toThrow(new SpecError('invalid spec for function greedy:\n  - permissions.0.actions.0: actions are "service:Action", no wildcards'));
  });

  it('a secret-looking plain environment variable in a spec', () => {
    expect(() =>
      defineFunction({ name: 'leaky', memoryMb: 128, timeoutS: 10, triggers: [{ kind: 'invoke' }], env: { API_TOKEN: 'abc' } }),
    ).toThrow(/env\.API_TOKEN: API_TOKEN looks like secret material: declare it under secrets \(by reference\), not env/);
  });

  it('a bucket cannot be declared unencrypted: any bucket a spec names comes out private, encrypted and TLS-only', () => {
    const root = fakeRoot();
    const spec = defineFunction({
      name: 'new-bucket-user',
      memoryMb: 128,
      timeoutS: 10,
      triggers: [{ kind: 'invoke' }],
      permissions: [{ actions: ['s3:PutObject'], resource: { bucket: 'brand-new', prefix: 'out/*' } }],
    });
    const json = synthInto(root, [fakeArtifact(root, spec)]).json('laminar-dev') as unknown as TerraformJson;
    expect(checkStack(json)).toEqual([]);
    expect(ofBucket(json, 'aws_s3_bucket_server_side_encryption_configuration', 'laminar-dev-brand-new')).toHaveLength(1);
  });
});
