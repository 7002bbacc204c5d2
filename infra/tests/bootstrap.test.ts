import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BOOTSTRAP_STACK, type BootstrapSettings, bootstrapSettingsFromEnv, buildBootstrapApp } from '../src/bootstrap.ts';
import { settingsFromEnv } from '../src/config.ts';
import { deployPolicies } from '../src/deploy-permissions.ts';
import { assertStage, RESERVED_STAGES } from '../src/naming.ts';
import { parsePolicy, type Statement } from '../src/policy-checks.ts';
import { fakeRoot, INFRA, REPO_ROOT, type StackJson } from './fixtures.ts';

type Json = Record<string, unknown>;
const SETTINGS: BootstrapSettings = { stages: ['dev', 'prod'], region: 'eu-west-1', backend: { kind: 'local' }, githubRepository: 'acme/laminar' };

function synthBootstrap(settings: BootstrapSettings = SETTINGS): { json: StackJson & { variable: Record<string, Json>; output: Record<string, Json> }; raw: string; outdir: string } {
  const outdir = join(fakeRoot(), 'infra', 'cdktf.out', 'bootstrap');
  const { app } = buildBootstrapApp({ ...settings, outdir });
  app.synth();
  const raw = readFileSync(join(outdir, 'stacks', BOOTSTRAP_STACK, 'cdk.tf.json'), 'utf8');
  return { json: JSON.parse(raw), raw, outdir };
}

let json: ReturnType<typeof synthBootstrap>['json'];
let raw: string;
let outdir: string;
beforeAll(() => {
  ({ json, raw, outdir } = synthBootstrap());
});

const entries = (type: string) => Object.entries(json.resource[type] ?? {});
const one = (type: string, key: string, value: unknown): [string, Json] => {
  const found = entries(type).filter(([, r]) => r[key] === value);
  expect(found, `${type} ${key}=${String(value)}`).toHaveLength(1);
  return found[0] as [string, Json];
};
const STATE = () => entries('aws_s3_bucket')[0] as [string, Json];
/** Policies attached to a role, parsed. */
function attached(role: string): Array<{ name: string; statements: Statement[]; text: string }> {
  const [roleId] = one('aws_iam_role', 'name', role);
  return entries('aws_iam_role_policy_attachment')
    .filter(([, a]) => a.role === `\${aws_iam_role.${roleId}.name}`)
    .map(([, a]) => {
      const policyId = /^\$\{aws_iam_policy\.([^.]+)\.arn\}$/.exec(a.policy_arn as string)?.[1] as string;
      const policy = json.resource.aws_iam_policy?.[policyId] as Json;
      return { name: policy.name as string, statements: parsePolicy(policy.policy as string), text: policy.policy as string };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

describe('bootstrap settings', () => {
  it('defaults: dev and prod, eu-west-1, local state, repository asked at plan time', () => {
    expect(bootstrapSettingsFromEnv({})).toEqual({ stages: ['dev', 'prod'], region: 'eu-west-1', backend: { kind: 'local' } });
  });

  it('reads stages, region, repository and the state bucket to move its own state into', () => {
    expect(
      bootstrapSettingsFromEnv({
        LAMINAR_BOOTSTRAP_STAGES: 'dev,staging,prod',
        LAMINAR_AWS_REGION: 'us-east-2',
        LAMINAR_GITHUB_REPOSITORY: 'acme/laminar',
        LAMINAR_STATE_BUCKET: 'laminar-tfstate-123456789012-us-east-2',
      }),
    ).toEqual({
      stages: ['dev', 'staging', 'prod'],
      region: 'us-east-2',
      backend: { kind: 's3', bucket: 'laminar-tfstate-123456789012-us-east-2', region: 'us-east-2' },
      githubRepository: 'acme/laminar',
    });
    expect(() => bootstrapSettingsFromEnv({ LAMINAR_GITHUB_REPOSITORY: 'laminar' })).toThrow(/owner\/name/);
    expect(() => bootstrapSettingsFromEnv({ LAMINAR_BOOTSTRAP_STAGES: 'Prod' })).toThrow(/stage "Prod"/);
  });

  it('lets MSK rights into the boundaries of the stages named in LAMINAR_BOOTSTRAP_MSK_STAGES only', () => {
    expect(bootstrapSettingsFromEnv({ LAMINAR_BOOTSTRAP_MSK_STAGES: 'prod' }).mskStages).toEqual(['prod']);
    expect(() => bootstrapSettingsFromEnv({ LAMINAR_BOOTSTRAP_MSK_STAGES: 'staging' })).toThrow(/names "staging", which is not in LAMINAR_BOOTSTRAP_STAGES/);
    const { json: withMsk } = synthBootstrap({ ...SETTINGS, mskStages: ['prod'] });
    const boundary = (stage: string) => {
      const policy = Object.values(withMsk.resource.aws_iam_policy ?? {}).find((p) => p.name === `laminar-${stage}-boundary`) as Json;
      return parsePolicy(policy.policy as string).flatMap((st) => st.actions ?? []);
    };
    expect(boundary('prod')).toEqual(expect.arrayContaining(['kafka-cluster:Connect', 'ec2:CreateNetworkInterface']));
    expect(boundary('dev').filter((a) => a.startsWith('ec2:') || a.startsWith('kafka'))).toEqual([]);
  });

  it('refuses a stage name that another one extends with "-": its deploy role would match the other\'s roles', () => {
    expect(() => bootstrapSettingsFromEnv({ LAMINAR_BOOTSTRAP_STAGES: 'dev,dev-eu,prod' })).toThrow(/stages "dev" and "dev-eu"/);
    expect(bootstrapSettingsFromEnv({ LAMINAR_BOOTSTRAP_STAGES: 'dev,deveu' }).stages).toEqual(['dev', 'deveu']);
  });

  it('refuses a stage name that another one ends with after "-": its deploy role would match the other\'s Glue databases (*_<stage>)', () => {
    expect(() => bootstrapSettingsFromEnv({ LAMINAR_BOOTSTRAP_STAGES: 'eu,dev-eu' })).toThrow(/stages "eu" and "dev-eu": "dev-eu" ends with "-eu"/);
    expect(bootstrapSettingsFromEnv({ LAMINAR_BOOTSTRAP_STAGES: 'eu,deveu' }).stages).toEqual(['eu', 'deveu']);
  });

  it('refuses the names the bootstrap stack uses itself: that stage’s deploy role would control the state bucket, or the bootstrap’s state', () => {
    for (const stage of ['tfstate', 'bootstrap']) {
      const reserved = new RegExp(`stage "${stage}" is reserved`);
      expect(() => bootstrapSettingsFromEnv({ LAMINAR_BOOTSTRAP_STAGES: stage })).toThrow(reserved);
      expect(() => bootstrapSettingsFromEnv({ LAMINAR_BOOTSTRAP_STAGES: `dev,${stage}` })).toThrow(reserved);
      expect(() => assertStage(stage)).toThrow(reserved);
      expect(() => settingsFromEnv({ LAMINAR_STAGE: stage })).toThrow(reserved);
    }
    expect(assertStage('tfstate2')).toBe('tfstate2');
  });

  it('names nothing laminar-<x>-… but for its stages and the reserved names', () => {
    const prefixes = new Set([...raw.matchAll(/\blaminar-([a-z0-9]+)-/g)].map((m) => m[1] as string));
    expect(prefixes.size).toBeGreaterThan(0);
    for (const x of prefixes) expect([...SETTINGS.stages, ...RESERVED_STAGES], `laminar-${x}-…`).toContain(x);
    expect(prefixes).toContain('tfstate');
  });
});

describe('state bucket', () => {
  it('is named after account and region, versioned, encrypted, private, TLS-only and never destroyed', () => {
    const [id, bucket] = STATE();
    expect(entries('aws_s3_bucket')).toHaveLength(1);
    expect(bucket).toMatchObject({
      bucket: 'laminar-tfstate-${data.aws_caller_identity.caller.account_id}-eu-west-1',
      lifecycle: { prevent_destroy: true },
    });
    const of = (type: string) => one(type, 'bucket', `\${aws_s3_bucket.${id}.id}`)[1];
    expect(of('aws_s3_bucket_versioning').versioning_configuration).toEqual({ status: 'Enabled' });
    expect(of('aws_s3_bucket_server_side_encryption_configuration').rule).toEqual([{ apply_server_side_encryption_by_default: { sse_algorithm: 'AES256' } }]);
    expect(of('aws_s3_bucket_public_access_block')).toMatchObject({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true });
    expect(JSON.parse(of('aws_s3_bucket_policy').policy as string).Statement[0]).toMatchObject({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
    expect(of('aws_s3_bucket_lifecycle_configuration').rule).toEqual([
      { id: 'abort-incomplete-multipart-uploads', status: 'Enabled', filter: [{}], abort_incomplete_multipart_upload: [{ days_after_initiation: 1 }] },
      { id: 'expire-old-versions', status: 'Enabled', filter: [{}], noncurrent_version_expiration: [{ noncurrent_days: 90, newer_noncurrent_versions: 10 }] },
    ]);
  });

  it('no DynamoDB lock table: the stages lock with S3-native lockfiles', () => {
    expect(entries('aws_dynamodb_table')).toEqual([]);
    expect(json.output.state_bucket?.value).toBe(`\${aws_s3_bucket.${STATE()[0]}.bucket}`);
  });
});

describe('GitHub OIDC', () => {
  it('creates the provider for token.actions.githubusercontent.com with audience sts.amazonaws.com, unless told the account has one', () => {
    const [, provider] = entries('aws_iam_openid_connect_provider')[0] as [string, Json];
    expect(provider).toMatchObject({
      url: 'https://token.actions.githubusercontent.com',
      client_id_list: ['sts.amazonaws.com'],
      count: '${var.create_github_oidc_provider ? 1 : 0}',
    });
    expect(json.variable.create_github_oidc_provider).toMatchObject({ type: 'bool', default: true });
    expect(json.variable.github_repository).toMatchObject({ type: 'string', default: 'acme/laminar' });
  });

  it.each(['dev', 'prod'])('the %s deploy role trusts only jobs of the repository in the GitHub environment of that name', (stage) => {
    const [, role] = one('aws_iam_role', 'name', `laminar-${stage}-deploy`);
    expect(JSON.parse(role.assume_role_policy as string)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'GitHubEnvironment',
          Effect: 'Allow',
          Principal: { Federated: 'arn:${data.aws_partition.partition.partition}:iam::${data.aws_caller_identity.caller.account_id}:oidc-provider/token.actions.githubusercontent.com' },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: {
              'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
              'token.actions.githubusercontent.com:sub': `repo:\${var.github_repository}:environment:${stage}`,
            },
          },
        },
      ],
    });
    expect(role).toMatchObject({ max_session_duration: 3600, tags: { stage } });
    expect(json.output[`${stage}_deploy_role_arn`]).toBeDefined();
  });
});

describe('deploy permissions', () => {
  it('four managed policies per stage, each well under IAM’s 6,144-character limit', () => {
    for (const stage of ['dev', 'prod']) {
      const policies = attached(`laminar-${stage}-deploy`);
      expect(policies.map((p) => p.name)).toEqual(['compute', 'data', 'observability', 'state'].map((p) => `laminar-${stage}-deploy-${p}`));
      for (const p of policies) {
        // As AWS counts it (no whitespace), with the references replaced by values of their real length.
        const resolved = p.text
          .replace(/\$\{data\.aws_partition\.partition\.partition\}/g, 'aws-us-gov')
          .replace(/\$\{data\.aws_caller_identity\.caller\.account_id\}/g, '123456789012')
          .replace(/\$\{aws_s3_bucket\.[^}]+\.arn\}/g, 'arn:aws:s3:::laminar-tfstate-123456789012-ap-southeast-2');
        expect(resolved.replace(/\s/g, '').length, p.name).toBeLessThan(6144 * 0.8);
      }
    }
  });

  it('state: only the stage’s own state object and lock file', () => {
    const bucketArn = `\${aws_s3_bucket.${STATE()[0]}.arn}`;
    const state = attached('laminar-dev-deploy').find((p) => p.name === 'laminar-dev-deploy-state');
    expect(state?.statements.map((s) => [s.actions, s.resources])).toEqual([
      [['s3:ListBucket'], [bucketArn]],
      [['s3:GetObject', 's3:PutObject'], [`${bucketArn}/laminar/dev.tfstate`]],
      [['s3:DeleteObject', 's3:GetObject', 's3:PutObject'], [`${bucketArn}/laminar/dev.tfstate.tflock`]],
    ]);
    // Unconditioned: S3 answers the first plan's read of a state not written yet 404 ("no state")
    // only to a caller whose ListBucket holds for a request without s3:prefix; a GET carries none,
    // and under a prefix condition S3 answered 403, which failed the plan.
    expect(state?.statements[0]?.conditions ?? []).toEqual([]);
  });

  it.each(['dev', 'prod'])('%s: every Allow is on the stage’s names, its state, or an allow-listed "*"', (stage) => {
    const other = stage === 'dev' ? 'prod' : 'dev';
    const bucketArn = `\${aws_s3_bucket.${STATE()[0]}.arn}`;
    const stageArn = new RegExp(
      `^arn:\\$\\{data\\.aws_partition\\.partition\\.partition\\}:[a-z0-9-]+:(eu-west-1)?:(\\$\\{data\\.aws_caller_identity\\.caller\\.account_id\\})?:` +
        `(.*laminar-${stage}-\\*.*|secret:laminar/${stage}/\\*|parameter/laminar/${stage}/\\*|event-source-mapping:\\*|catalog|database/\\*_${stage}|table/\\*_${stage}/\\*|userDefinedFunction/\\*_${stage}/\\*|cluster/\\*|topic/\\*/\\*/${stage}\\.\\*|group/\\*/\\*/laminar-${stage}-\\*|policy/laminar-${stage}-boundary|role/laminar-${stage}-deploy)$`,
    );
    for (const p of attached(`laminar-${stage}-deploy`)) {
      for (const s of p.statements) {
        for (const r of s.resources ?? []) {
          const ok = r === '*' || r.startsWith(bucketArn) || stageArn.test(r);
          expect(ok, `${p.name} ${s.sid}: ${r}`).toBe(true);
          expect(r.includes(`laminar-${other}-`) || r.includes(`/${other}`), `${p.name} ${s.sid}: ${r}`).toBe(false);
        }
      }
    }
  });

  it('roles only with the stage’s boundary; the deploy role cannot touch itself or the boundary', () => {
    const compute = attached('laminar-dev-deploy').find((p) => p.name === 'laminar-dev-deploy-compute')?.statements ?? [];
    const withBoundary = compute.find((s) => s.sid === 'RolesWithBoundary');
    expect(withBoundary?.actions).toEqual(['iam:CreateRole', 'iam:PutRolePermissionsBoundary', 'iam:PutRolePolicy']);
    expect(withBoundary?.conditions).toEqual([
      {
        op: 'StringEquals',
        key: 'iam:PermissionsBoundary',
        values: ['arn:${data.aws_partition.partition.partition}:iam::${data.aws_caller_identity.caller.account_id}:policy/laminar-dev-boundary'],
      },
    ]);
    // No other statement can create a role or write a role policy.
    // (TracingPolicy may attach exactly one AWS managed policy, AWSXRayDaemonWriteAccess.)
    for (const s of compute.filter((x) => x.effect === 'Allow' && x.sid !== 'RolesWithBoundary' && x.sid !== 'TracingPolicy')) {
      expect(s.actions).not.toContain('iam:CreateRole');
      expect(s.actions).not.toContain('iam:PutRolePolicy');
      expect(s.actions?.some((a) => a.startsWith('iam:Attach') || a === 'iam:CreatePolicy' || a === 'iam:CreatePolicyVersion')).toBe(false);
    }
    const deny = compute.find((s) => s.sid === 'NotItself');
    expect(deny).toMatchObject({ effect: 'Deny', actions: ['iam:*'] });
    expect(deny?.resources?.map((r) => r.replace(/^.*:(role|policy)\//, '$1/'))).toEqual(['role/laminar-dev-deploy', 'policy/laminar-dev-boundary']);
    expect(one('aws_iam_policy', 'name', 'laminar-dev-boundary')[1].tags).toEqual({ stage: 'dev' });
  });

  it('the stage stack names the boundary the bootstrap stack creates', () => {
    const policies = deployPolicies({ stage: 'dev', partition: 'aws', region: 'eu-west-1', accountId: '123456789012', stateBucketArn: 'arn:aws:s3:::b' });
    const condition = policies.flatMap((p) => p.statements).find((s) => s.Sid === 'RolesWithBoundary')?.Condition;
    expect(condition).toEqual({ StringEquals: { 'iam:PermissionsBoundary': 'arn:aws:iam::123456789012:policy/laminar-dev-boundary' } });
  });

  it("may delete the stage's Glue databases: DeleteDatabase is authorized on their tables and user-defined functions too", () => {
    const policies = deployPolicies({ stage: 'dev', partition: 'aws', region: 'eu-west-1', accountId: '123456789012', stateBucketArn: 'arn:aws:s3:::b' });
    const glue = policies.flatMap((p) => p.statements).find((s) => s.Sid === 'GlueCatalog');
    expect(glue?.Action).toContain('glue:DeleteDatabase');
    expect(glue?.Resource).toEqual(
      expect.arrayContaining([
        'arn:aws:glue:eu-west-1:123456789012:database/*_dev',
        'arn:aws:glue:eu-west-1:123456789012:table/*_dev/*',
        'arn:aws:glue:eu-west-1:123456789012:userDefinedFunction/*_dev/*',
      ]),
    );
  });

});

describe('alarm topic keys', () => {
  it.each(['dev', 'prod'])('%s: a rotating key, aliased as the stage’s alarm topic names it, that CloudWatch may use for the stage’s alarms only', (stage) => {
    const [, alias] = one('aws_kms_alias', 'name', `alias/laminar-${stage}-alarm-topic`);
    const [id, k] = one('aws_kms_key', 'description', `Laminar ${stage}: encrypts the alarm topic laminar-${stage}-alarms`);
    expect(alias.target_key_id).toBe(`\${aws_kms_key.${id}.key_id}`);
    expect(k).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30, tags: { stage } });
    const statements = JSON.parse(k.policy as string).Statement as Json[];
    expect(statements.map((s) => s.Sid)).toEqual(['AccountAdministration', 'CloudWatchAlarmsPublish']);
    expect(statements[0]).toMatchObject({ Principal: { AWS: 'arn:${data.aws_partition.partition.partition}:iam::${data.aws_caller_identity.caller.account_id}:root' }, Resource: '*' });
    expect(statements[1]).toEqual({
      Sid: 'CloudWatchAlarmsPublish',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: '*',
      Condition: {
        StringEquals: { 'aws:SourceAccount': '${data.aws_caller_identity.caller.account_id}' },
        ArnLike: { 'aws:SourceArn': `arn:\${data.aws_partition.partition.partition}:cloudwatch:eu-west-1:\${data.aws_caller_identity.caller.account_id}:alarm:laminar-${stage}-*` },
      },
    });
  });

  it('the deploy roles get no KMS action: a key they could create or tag, they could also re-policy or delete', () => {
    for (const stage of ['dev', 'prod']) {
      for (const p of attached(`laminar-${stage}-deploy`)) {
        for (const s of p.statements) expect(s.actions?.filter((a) => a.startsWith('kms:')), `${p.name} ${s.sid}`).toEqual([]);
      }
    }
  });
});

describe('synthesis', () => {
  it('tags everything: project, stage "bootstrap", git sha', () => {
    expect(json.provider.aws).toEqual([{ region: 'eu-west-1', default_tags: [{ tags: { project: 'laminar', stage: 'bootstrap' } }] }]);
  });

  it('local state next to the stages’ (infra/terraform.laminar-bootstrap.tfstate), or in the state bucket under its own key', () => {
    expect(json.terraform.backend).toEqual({ local: { path: '../../../../terraform.laminar-bootstrap.tfstate' } });
    const s3 = synthBootstrap({ ...SETTINGS, backend: { kind: 's3', bucket: 'laminar-tfstate-1-eu-west-1', region: 'eu-west-1' } }).json;
    expect(s3.terraform.backend).toEqual({
      s3: { bucket: 'laminar-tfstate-1-eu-west-1', key: 'laminar/bootstrap.tfstate', region: 'eu-west-1', encrypt: true, use_lockfile: true },
    });
  });

  it('is deterministic and holds no path of this machine', () => {
    expect(synthBootstrap().raw).toBe(raw);
    const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
    for (const file of files(outdir)) {
      const text = readFileSync(file, 'utf8');
      for (const needle of ['/work', '/tmp', '/root', '/home', REPO_ROOT, INFRA]) expect(text.includes(needle), `${needle} in ${file}`).toBe(false);
    }
  });
});
