import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Testing } from 'cdktf';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PolicyDocument } from '../src/policy.ts';
import {
  fakeArtifact,
  fakeRoot,
  INFRA,
  nightlyReport,
  pdfManifest,
  REPO_ROOT,
  resourcesOf,
  type StackJson,
  type Synthesized,
  synthInto,
} from './fixtures.ts';

const STACK = 'laminar-dev';
const execFileAsync = promisify(execFile);
let synth: Synthesized;
let json: StackJson;
let root: string;

beforeAll(async () => {
  root = fakeRoot();
  synth = synthInto(root, [await pdfManifest(root), fakeArtifact(root, nightlyReport)]);
  json = synth.json(STACK);
});

function only<T>(items: T[], what: string): T {
  expect(items, what).toHaveLength(1);
  return items[0] as T;
}
const byName = (type: string, key: string, value: string) =>
  only(
    resourcesOf(json, type).filter((r) => r[key] === value),
    `${type} with ${key}=${value}`,
  );
/** Terraform reference of a resource's attribute, e.g. ${aws_s3_bucket.<id>.arn}. */
function refTo(type: string, key: string, value: string, attr: string): string {
  const entry = Object.entries(json.resource[type] ?? {}).filter(([, r]) => r[key] === value);
  const [id] = only(entry, `${type} ${value}`);
  return `\${${type}.${id}.${attr}}`;
}
function rolePolicy(fn: string): PolicyDocument {
  const p = byName('aws_iam_role_policy', 'name', `laminar-dev-${fn}`);
  return JSON.parse(p.policy as string) as PolicyDocument;
}
function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? allFiles(p) : [p];
  });
}

describe('functions', () => {
  it('warns about no runtime when every function is on nodejs22.x', () => {
    const manifest = JSON.parse(readFileSync(join(synth.outdir, 'manifest.json'), 'utf8')) as { stacks: Record<string, { annotations?: { level: string }[] }> };
    expect(manifest.stacks[STACK]).toBeDefined();
    expect((manifest.stacks[STACK]?.annotations ?? []).filter((a) => a.level === '@cdktf/warn')).toEqual([]);
  });

  it('builds pdf-manifest from its spec', () => {
    const raw = synth.raw(STACK);
    expect(
      Testing.toHaveResourceWithProperties(raw, 'aws_lambda_function', {
        function_name: 'laminar-dev-pdf-manifest',
        memory_size: 256,
        timeout: 300,
        architectures: ['arm64'],
        runtime: 'nodejs22.x',
        handler: 'index.handler',
      }),
    ).toBe(true);
    const fn = byName('aws_lambda_function', 'function_name', 'laminar-dev-pdf-manifest');
    expect(fn.filename).toBe(`\${path.module}/../../../../functions/pdf-manifest/dist/pdf-manifest.zip`);
    expect(fn.source_code_hash).toBe(
      readFileSync(join(root, 'functions/pdf-manifest/dist/pdf-manifest.zip.sha256'), 'utf8').trim(),
    );
    expect((fn.environment as { variables: Record<string, string> }).variables).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      DEFAULT_BUCKET: 'laminar-dev-documents',
      MANIFEST_PREFIX: 'manifests/',
      POWERTOOLS_METRICS_NAMESPACE: 'Laminar',
      POWERTOOLS_SERVICE_NAME: 'pdf-manifest',
      URL_EXPIRY_SECONDS: '900',
      LAMINAR_STAGE: 'dev',
    });
    expect(fn.logging_config).toEqual({
      log_format: 'JSON',
      log_group: refTo('aws_cloudwatch_log_group', 'name', '/aws/lambda/laminar-dev-pdf-manifest', 'name'),
    });
    expect(fn.tags).toEqual({ function: 'pdf-manifest', git_sha: 'local' });
  });

  it('the zip path resolves from the stack folder to the artifact', () => {
    const fn = byName('aws_lambda_function', 'function_name', 'laminar-dev-pdf-manifest');
    const rel = (fn.filename as string).replace(`\${path.module}/`, '');
    expect(statSync(join(synth.stackDir(STACK), rel)).isFile()).toBe(true);
  });

  it('creates the log group with the spec retention and makes the function wait for it and the policy', () => {
    const group = byName('aws_cloudwatch_log_group', 'name', '/aws/lambda/laminar-dev-pdf-manifest');
    expect(group.retention_in_days).toBe(30);
    const fn = byName('aws_lambda_function', 'function_name', 'laminar-dev-pdf-manifest');
    const deps = fn.depends_on as string[];
    expect(deps.some((d) => d.startsWith('aws_cloudwatch_log_group.fn-pdf-manifest'))).toBe(true);
    expect(deps.some((d) => d.startsWith('aws_iam_role_policy.fn-pdf-manifest'))).toBe(true);
  });

  it('the role is assumable by Lambda only', () => {
    const role = byName('aws_iam_role', 'name', 'laminar-dev-pdf-manifest');
    expect(JSON.parse(role.assume_role_policy as string)).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    });
    // One managed policy only: AWS's for sending X-Ray segments (active tracing).
    expect(resourcesOf(json, 'aws_iam_role_policy_attachment').filter((a) => String(a.role).includes('fn-pdf-manifest'))).toEqual([
      expect.objectContaining({ policy_arn: 'arn:${data.aws_partition.partition.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess' }),
    ]);
    expect(byName('aws_lambda_function', 'function_name', 'laminar-dev-pdf-manifest').tracing_config).toEqual({ mode: 'Active' });
  });

  it("grants exactly pdf-manifest's actions on exact ARNs", () => {
    const docs = refTo('aws_s3_bucket', 'bucket', 'laminar-dev-documents', 'arn');
    const logs = refTo('aws_cloudwatch_log_group', 'name', '/aws/lambda/laminar-dev-pdf-manifest', 'arn');
    const dlq = refTo('aws_sqs_queue', 'name', 'laminar-dev-pdf-manifest-dlq', 'arn');
    const results = refTo('aws_sqs_queue', 'name', 'laminar-dev-pdf-manifest-results', 'arn');
    expect(rolePolicy('pdf-manifest')).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [`${logs}:*`] },
        { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [docs] },
        { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`${docs}/*`] },
        {
          Effect: 'Allow',
          Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
          Resource: [`${docs}/manifests/*`],
        },
        // Lambda sends a failed async request to the on-failure destination as the function's role,
        // and a succeeded one's result to the on-success destination.
        { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [dlq] },
        { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [results] },
      ],
    });
  });

  it('narrows a prefixed ListBucket with an s3:prefix condition and grants the DLQ send', () => {
    const docs = refTo('aws_s3_bucket', 'bucket', 'laminar-dev-documents', 'arn');
    const reports = refTo('aws_s3_bucket', 'bucket', 'laminar-dev-reports', 'arn');
    const dlq = refTo('aws_sqs_queue', 'name', 'laminar-dev-nightly-report-dlq', 'arn');
    const statements = rolePolicy('nightly-report').Statement.slice(1);
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: [docs],
        Condition: { StringLike: { 's3:prefix': ['incoming/*'] } },
      },
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`${docs}/incoming/*`] },
      { Effect: 'Allow', Action: ['s3:PutObject'], Resource: [`${reports}/daily/*`] },
      { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [dlq] },
    ]);
  });

  it('no role policy has a wildcard action or a bare "*" resource', () => {
    for (const p of resourcesOf(json, 'aws_iam_role_policy')) {
      const doc = JSON.parse(p.policy as string) as PolicyDocument;
      for (const s of doc.Statement) {
        expect(s.Effect).toBe('Allow');
        for (const a of s.Action) expect(a).not.toContain('*');
        for (const r of s.Resource) {
          expect(r).not.toBe('*');
          expect(r).toMatch(/^\$\{aws_[a-z0-9_]+\.[^}]+\.arn\}/);
        }
      }
    }
  });

  it('async spec: invoke config, encrypted DLQ destination and an alarm on it', () => {
    const dlqArn = refTo('aws_sqs_queue', 'name', 'laminar-dev-nightly-report-dlq', 'arn');
    const fnName = refTo('aws_lambda_function', 'function_name', 'laminar-dev-nightly-report', 'function_name');
    const cfg = only(
      resourcesOf(json, 'aws_lambda_function_event_invoke_config').filter((c) => c.function_name === fnName),
      'one invoke config',
    );
    expect(cfg).toMatchObject({
      maximum_retry_attempts: 1,
      maximum_event_age_in_seconds: 600,
      destination_config: { on_failure: { destination: dlqArn } },
      function_name: refTo('aws_lambda_function', 'function_name', 'laminar-dev-nightly-report', 'function_name'),
    });
    const queue = byName('aws_sqs_queue', 'name', 'laminar-dev-nightly-report-dlq');
    expect(queue.sqs_managed_sse_enabled).toBe(true);
    const alarm = byName('aws_cloudwatch_metric_alarm', 'alarm_name', 'laminar-dev-nightly-report-dlq-not-empty');
    expect(alarm).toMatchObject({
      namespace: 'AWS/SQS',
      metric_name: 'ApproximateNumberOfMessagesVisible',
      comparison_operator: 'GreaterThanThreshold',
      threshold: 0,
      dimensions: { QueueName: refTo('aws_sqs_queue', 'name', 'laminar-dev-nightly-report-dlq', 'name') },
    });
  });

  it('schedule triggers: rule, target with the input JSON, permission scoped to the rule', () => {
    const fnArn = refTo('aws_lambda_function', 'function_name', 'laminar-dev-nightly-report', 'arn');
    const rule = byName('aws_cloudwatch_event_rule', 'name', 'laminar-dev-nightly-report-schedule-0');
    expect(rule.schedule_expression).toBe('cron(0 2 * * ? *)');
    const ruleName = refTo('aws_cloudwatch_event_rule', 'name', 'laminar-dev-nightly-report-schedule-0', 'name');
    const target = byName('aws_cloudwatch_event_target', 'rule', ruleName);
    expect(target.arn).toBe(fnArn);
    expect(JSON.parse(target.input as string)).toEqual({ scope: 'daily' });
    const ruleArn = refTo('aws_cloudwatch_event_rule', 'name', 'laminar-dev-nightly-report-schedule-0', 'arn');
    expect(byName('aws_lambda_permission', 'source_arn', ruleArn)).toMatchObject({
      action: 'lambda:InvokeFunction',
      principal: 'events.amazonaws.com',
    });
    expect(resourcesOf(json, 'aws_cloudwatch_event_rule')).toHaveLength(2);
    expect(resourcesOf(json, 'aws_lambda_permission')).toHaveLength(2);
  });

  it('an invoke-only function gets no rules, targets or invoke permissions; its async config only its DLQ', () => {
    const mentions = (type: string) =>
      resourcesOf(json, type).filter((r) => JSON.stringify(r).includes('fn-pdf-manifest'));
    for (const type of ['aws_cloudwatch_event_rule', 'aws_cloudwatch_event_target', 'aws_lambda_permission']) {
      expect(mentions(type), type).toEqual([]);
    }
    expect(mentions('aws_lambda_function_event_invoke_config')).toMatchObject([
      { maximum_retry_attempts: 2, maximum_event_age_in_seconds: 3600, destination_config: { on_failure: { destination: refTo('aws_sqs_queue', 'name', 'laminar-dev-pdf-manifest-dlq', 'arn') } } },
    ]);
    expect(resourcesOf(json, 'aws_sqs_queue').map((q) => q.name)).toEqual(expect.arrayContaining(['laminar-dev-pdf-manifest-dlq']));
  });
});

describe('buckets', () => {
  it('one bucket per logical name used by any spec', () => {
    expect(resourcesOf(json, 'aws_s3_bucket').map((b) => b.bucket)).toEqual([
      'laminar-dev-documents',
      'laminar-dev-reports',
    ]);
  });

  it.each(['documents', 'reports'])('%s: public access block, SSE, ownership, TLS-only policy, versioning', (b) => {
    const id = refTo('aws_s3_bucket', 'bucket', `laminar-dev-${b}`, 'id');
    const arn = refTo('aws_s3_bucket', 'bucket', `laminar-dev-${b}`, 'arn');
    expect(byName('aws_s3_bucket_public_access_block', 'bucket', id)).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(byName('aws_s3_bucket_server_side_encryption_configuration', 'bucket', id).rule).toEqual([
      { apply_server_side_encryption_by_default: { sse_algorithm: 'AES256' } },
    ]);
    expect(byName('aws_s3_bucket_ownership_controls', 'bucket', id).rule).toEqual({
      object_ownership: 'BucketOwnerEnforced',
    });
    const policy = JSON.parse(byName('aws_s3_bucket_policy', 'bucket', id).policy as string);
    expect(policy.Statement).toEqual([
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [arn, `${arn}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ]);
    expect(byName('aws_s3_bucket_versioning', 'bucket', id).versioning_configuration).toEqual({ status: 'Enabled' });
    expect(byName('aws_s3_bucket_lifecycle_configuration', 'bucket', id).rule).toEqual([
      {
        id: 'abort-incomplete-multipart-uploads',
        status: 'Enabled',
        filter: [{}],
        abort_incomplete_multipart_upload: [{ days_after_initiation: 1 }],
      },
      // Overwritten and deleted versions are kept a month, not for good, nor their delete markers.
      {
        id: 'expire-old-versions',
        status: 'Enabled',
        filter: [{}],
        noncurrent_version_expiration: [{ noncurrent_days: 30 }],
        expiration: [{ expired_object_delete_marker: true }],
      },
      // pdf-manifest's expiringOutputs: its manifests go once their links are dead.
      ...(b === 'documents'
        ? [
            {
              id: 'expire-manifests-after-8d',
              status: 'Enabled',
              filter: [{ prefix: 'manifests/' }],
              expiration: [{ days: 8 }],
              noncurrent_version_expiration: [{ noncurrent_days: 1 }],
            },
          ]
        : []),
    ]);
  });
});

describe('stack', () => {
  it('tags everything through provider default_tags', () => {
    expect(json.provider.aws).toEqual([
      {
        region: 'eu-west-1',
        default_tags: [{ tags: { project: 'laminar', stage: 'dev' } }],
      },
    ]);
  });

  it('uses a local backend with a relative path', () => {
    expect(json.terraform.backend).toEqual({ local: { path: '../../../terraform.laminar-dev.tfstate' } });
  });

  it('no absolute path of this machine anywhere in cdktf.out', () => {
    const needles = ['/work', '/tmp', '/root', '/home', REPO_ROOT, INFRA, root];
    for (const file of allFiles(synth.outdir)) {
      const text = readFileSync(file, 'utf8');
      for (const n of needles) expect(text.includes(n), `${n} in ${file}`).toBe(false);
    }
  });

  it('is deterministic: a second synth, in another folder, gives the same bytes', async () => {
    const other = fakeRoot();
    const again = synthInto(other, [await pdfManifest(other), fakeArtifact(other, nightlyReport)]);
    expect(again.raw(STACK)).toBe(synth.raw(STACK));
    expect(readFileSync(join(again.outdir, 'manifest.json'), 'utf8')).toBe(
      readFileSync(join(synth.outdir, 'manifest.json'), 'utf8'),
    );
  });

  it('is the same whatever the locale of the machine: Estonian sorts "z" between "s" and "t"', async () => {
    // Node takes its default locale from the environment at start, so each synth is a process of its own.
    const script = `
      import { defineFunction, defineQueue } from '@laminar/spec';
      import { fakeArtifact, fakeRoot, synthInto } from './tests/fixtures.ts';
      const fn = (name, prefix) => defineFunction({
        name,
        memoryMb: 128,
        timeoutS: 10,
        env: { POWERTOOLS_SERVICE_NAME: name, POWERTOOLS_METRICS_NAMESPACE: 'Laminar' },
        tables: [{ name: \`\${prefix}-ledger\`, kind: 'ledger' }],
        triggers: [{ kind: 's3', bucket: 'inbox', prefix: \`\${prefix}/\` }],
        permissions: [{ actions: ['dynamodb:PutItem'], resource: { table: \`\${prefix}-ledger\` } }],
        async: { maxRetries: 1, maxEventAgeS: 600, onFailure: 'dlq' },
      });
      const root = fakeRoot();
      const specs = [fn('zip-export', 'zip'), fn('tap-reader', 'tap')].map((s) => fakeArtifact(root, s));
      // Its policy lists the rules of both patterns: in the order of their pattern keys.
      const queue = defineQueue({ name: 'inbox-arrivals', subscribe: [{ kind: 's3', bucket: 'inbox', prefix: 'zip/' }, { kind: 's3', bucket: 'inbox', prefix: 'tap/' }] });
      process.stdout.write(synthInto(root, specs, {}, [], [queue]).raw('laminar-dev'));
    `;
    const synthIn = async (lang: string) => {
      const run = await execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: INFRA,
        env: { ...process.env, LANG: lang, LC_ALL: lang },
        maxBuffer: 64 * 1024 * 1024,
      });
      return run.stdout;
    };
    const [c, estonian] = await Promise.all([synthIn('C.UTF-8'), synthIn('et_EE.UTF-8')]);
    const rows = (raw: string) => {
      const body = Object.values((JSON.parse(raw) as StackJson).resource.aws_cloudwatch_dashboard ?? {})[0]?.dashboard_body as string;
      return [...body.matchAll(/"### ([a-z-]+)/g)].map((m) => m[1]);
    };
    expect(rows(c)).toEqual(['tap-reader', 'zip-export']);
    expect(rows(estonian)).toEqual(rows(c));
    expect(estonian).toBe(c);
  });
});
