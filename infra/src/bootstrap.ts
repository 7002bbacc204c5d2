/**
 * The bootstrap stack `laminar-bootstrap`: what must exist before any stage can be deployed from
 * GitHub Actions, applied once (and again when a stage is added) by an administrator.
 *
 * - the Terraform state bucket `laminar-tfstate-<account>-<region>`: versioned, SSE-S3, TLS-only,
 *   public access blocked, old versions kept 90 days (the newest ten always), never destroyed by
 *   Terraform. Locking is S3-native (`use_lockfile`, Terraform ≥ 1.10, GA in 1.11): a `.tflock`
 *   object next to the state, so no DynamoDB lock table (Terraform deprecates that mechanism);
 * - the GitHub Actions OIDC provider (`token.actions.githubusercontent.com`, audience
 *   `sts.amazonaws.com`), unless the account already has one (`create_github_oidc_provider = false`);
 * - per stage: the permissions boundary `laminar-<stage>-boundary` every role of the stage stack
 *   carries, and the deploy role `laminar-<stage>-deploy`, assumable only by workflow runs of the
 *   repository `github_repository` in the GitHub environment named like the stage, with the managed
 *   policies `laminar-<stage>-deploy-{state,compute,data,observability}` (deploy-permissions.ts),
 *   and the KMS key of the stage's alarm topic (`alias/laminar-<stage>-alarm-topic`): the deploy
 *   roles have no KMS rights, so the stage stack can only name it.
 *
 * A separate app (bootstrap-main.ts, `pnpm --filter @laminar/infra synth:bootstrap`), not a stack
 * of the stage app: it is applied by a human with administrator credentials rather than by the
 * pipeline, keeps its state apart from every stage's (local first, then optionally in the bucket it
 * creates under `laminar/bootstrap.tfstate`, which no deploy role can read), and needs no function
 * builds to synthesize.
 */
import { mkdirSync } from 'node:fs';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity/index.js';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition/index.js';
import { IamOpenidConnectProvider } from '@cdktf/provider-aws/lib/iam-openid-connect-provider/index.js';
import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment/index.js';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import { App, LocalBackend, S3Backend, TerraformOutput, TerraformStack, TerraformVariable } from 'cdktf';
import type { Construct } from 'constructs';
import type { StateBackend } from './config.ts';
import { AlarmTopicKey } from './constructs/alarm-topic.ts';
import { DataBucket } from './constructs/data-bucket.ts';
import { boundaryPolicyName, boundaryStatements, deployPolicies, deployRoleName, stateKey } from './deploy-permissions.ts';
import { assertStage, PROJECT, resourceName } from './naming.ts';

export const BOOTSTRAP_STACK = `${PROJECT}-bootstrap`;
export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';
/** The bootstrap stack's own state key when it is moved into the state bucket. */
export const BOOTSTRAP_STATE_KEY = `${PROJECT}/bootstrap.tfstate`;

export interface BootstrapSettings {
  /** Stages that get a deploy role and a boundary (GitHub environments of the same names). */
  stages: string[];
  region: string;
  /** Where the bootstrap stack keeps its own state. */
  backend: StateBackend;
  /** Default of the `github_repository` variable ("owner/name"); unset: asked at plan time. */
  githubRepository?: string;
  /**
   * Stages whose functions may read from Amazon MSK: only their boundaries let through the MSK
   * pollers' rights, network interfaces in any VPC among them (AWS gives them no narrower scope
   * the stack knows). Every other stage's roles cannot be granted those, whoever deploys it.
   */
  mskStages?: string[];
}

const REPOSITORY = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/**
 * LAMINAR_BOOTSTRAP_STAGES (default "dev,prod"), LAMINAR_BOOTSTRAP_MSK_STAGES (default none), LAMINAR_AWS_REGION,
 * LAMINAR_GITHUB_REPOSITORY, LAMINAR_STATE_BUCKET (after the first apply, to move this stack's
 * state into the bucket it created).
 */
export function bootstrapSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): BootstrapSettings {
  const stages = [
    ...new Set(
      (env.LAMINAR_BOOTSTRAP_STAGES || 'dev,prod')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ].map(assertStage);
  if (stages.length === 0) throw new Error('LAMINAR_BOOTSTRAP_STAGES names no stage');
  // A stage's deploy role may manage `laminar-<stage>-*` roles: with stages "dev" and "dev-eu",
  // dev's role would match dev-eu's roles (its deploy role's trust policy included) and could
  // take it over. Such names are refused rather than guarded statement by statement.
  // The same the other way round for Glue, whose names end with the stage (`<name>_<stage>`,
  // granted as `*_<stage>`): with "eu" and "dev-eu", eu's role would match laminar_dev_eu.
  for (const a of stages) {
    const b = stages.find((t) => t !== a && t.startsWith(`${a}-`));
    if (b) throw new Error(`stages "${a}" and "${b}": "${b}" starts with "${a}-", so ${a}'s deploy role would match ${b}'s resources (laminar-${a}-*); rename one`);
    const c = stages.find((t) => t !== a && t.endsWith(`-${a}`));
    if (c) throw new Error(`stages "${a}" and "${c}": "${c}" ends with "-${a}", so ${a}'s deploy role would match ${c}'s Glue databases (*_${a}); rename one`);
  }
  const mskStages = [
    ...new Set(
      (env.LAMINAR_BOOTSTRAP_MSK_STAGES ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  for (const s of mskStages) {
    if (!stages.includes(s)) throw new Error(`LAMINAR_BOOTSTRAP_MSK_STAGES names "${s}", which is not in LAMINAR_BOOTSTRAP_STAGES (${stages.join(', ')})`);
  }
  const region = env.LAMINAR_AWS_REGION || 'eu-west-1';
  const repo = env.LAMINAR_GITHUB_REPOSITORY;
  if (repo && !REPOSITORY.test(repo)) throw new Error(`LAMINAR_GITHUB_REPOSITORY "${repo}" must be "owner/name"`);
  return {
    stages,
    region,
    backend: env.LAMINAR_STATE_BUCKET ? { kind: 's3', bucket: env.LAMINAR_STATE_BUCKET, region } : { kind: 'local' },
    ...(repo ? { githubRepository: repo } : {}),
    ...(mskStages.length ? { mskStages } : {}),
  };
}

export class BootstrapStack extends TerraformStack {
  readonly stateBucket: DataBucket;
  readonly deployRoles = new Map<string, IamRole>();
  readonly boundaries = new Map<string, IamPolicy>();

  constructor(scope: Construct, settings: BootstrapSettings) {
    super(scope, BOOTSTRAP_STACK);
    new AwsProvider(this, 'aws', {
      region: settings.region,
      defaultTags: [{ tags: { project: PROJECT, stage: 'bootstrap' } }],
    });
    if (settings.backend.kind === 's3') {
      const backend = new S3Backend(this, { bucket: settings.backend.bucket, key: BOOTSTRAP_STATE_KEY, region: settings.backend.region, encrypt: true });
      backend.addOverride('use_lockfile', true);
    } else {
      // From infra/cdktf.out/bootstrap/stacks/laminar-bootstrap to infra/, next to the stages' local state.
      new LocalBackend(this, { path: `../../../../terraform.${BOOTSTRAP_STACK}.tfstate` });
    }

    const repository = new TerraformVariable(this, 'github_repository', {
      type: 'string',
      description: 'The GitHub repository ("owner/name") whose workflows may assume the deploy roles',
      nullable: false,
      ...(settings.githubRepository ? { default: settings.githubRepository } : {}),
      validation: [
        {
          condition: '${can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))}',
          errorMessage: 'github_repository must be "owner/name".',
        },
      ],
    });
    // Read by the provider's count below.
    new TerraformVariable(this, 'create_github_oidc_provider', {
      type: 'bool',
      default: true,
      description: 'Create the GitHub Actions OIDC provider; false when the account already has one (one per URL per account)',
      nullable: false,
    });

    const partition = new DataAwsPartition(this, 'partition').partition;
    const accountId = new DataAwsCallerIdentity(this, 'caller').accountId;

    this.stateBucket = new DataBucket(this, 'state', {
      stage: 'bootstrap',
      logical: 'tfstate',
      // S3 names are global: the account and region make it unique without a setting.
      name: `${PROJECT}-tfstate-${accountId}-${settings.region}`,
      versioned: true,
      abortIncompleteUploads: true,
      noncurrentVersionDays: 90,
      preventDestroy: true,
    });

    const provider = new IamOpenidConnectProvider(this, 'github-oidc', {
      url: `https://${GITHUB_OIDC_HOST}`,
      clientIdList: ['sts.amazonaws.com'],
    });
    provider.addOverride('count', '${var.create_github_oidc_provider ? 1 : 0}');
    // The ARN is fixed by the URL, so the roles name it whether or not this stack created the provider.
    const providerArn = `arn:${partition}:iam::${accountId}:oidc-provider/${GITHUB_OIDC_HOST}`;

    const account = { partition, region: settings.region, accountId };
    for (const stage of settings.stages) {
      const boundary = new IamPolicy(this, `${stage}-boundary`, {
        name: boundaryPolicyName(stage),
        description: `Laminar ${stage}: the most any function or Firehose role of the stage may be granted`,
        policy: JSON.stringify({ Version: '2012-10-17', Statement: boundaryStatements({ ...account, stage, msk: settings.mskStages?.includes(stage) ?? false }) }),
        // The provider's default tags say stage "bootstrap"; what a policy is for is its own stage.
        tags: { stage },
      });
      this.boundaries.set(stage, boundary);
      new AlarmTopicKey(this, `${stage}-alarm-topic-key`, { stage, region: settings.region, partition, accountId, tags: { stage } });

      const role = new IamRole(this, `${stage}-deploy`, {
        name: deployRoleName(stage),
        description: `Deploys the Laminar ${stage} stack from GitHub Actions (environment "${stage}")`,
        maxSessionDuration: 3600,
        assumeRolePolicy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'GitHubEnvironment',
              Effect: 'Allow',
              Principal: { Federated: providerArn },
              Action: 'sts:AssumeRoleWithWebIdentity',
              Condition: {
                StringEquals: {
                  [`${GITHUB_OIDC_HOST}:aud`]: 'sts.amazonaws.com',
                  // Jobs that name `environment: <stage>` carry this subject; no branch or fork can.
                  [`${GITHUB_OIDC_HOST}:sub`]: `repo:${repository.stringValue}:environment:${stage}`,
                },
              },
            },
          ],
        }),
        tags: { stage },
        dependsOn: [provider],
      });
      this.deployRoles.set(stage, role);

      const stateBucketArn = this.stateBucket.arn;
      for (const { part, statements } of deployPolicies({ ...account, stage, stateBucketArn })) {
        const policy = new IamPolicy(this, `${stage}-deploy-${part}`, {
          name: resourceName(stage, `deploy-${part}`, 128),
          description: `Laminar ${stage} deploy role: ${part}`,
          policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
          tags: { stage },
        });
        new IamRolePolicyAttachment(this, `${stage}-deploy-${part}-attachment`, { role: role.name, policyArn: policy.arn });
      }
      new TerraformOutput(this, `${stage}_deploy_role_arn`, {
        value: role.arn,
        description: `AWS_ROLE_ARN of the GitHub environment "${stage}"`,
      });
    }

    new TerraformOutput(this, 'state_bucket', {
      value: this.stateBucket.bucket.bucket,
      description: 'LAMINAR_STATE_BUCKET for the stage stacks (state key laminar/<stage>.tfstate, S3-native locking)',
    });
    new TerraformOutput(this, 'state_keys', {
      value: Object.fromEntries(settings.stages.map((s) => [s, stateKey(s)])),
      description: 'State object per stage',
    });
  }
}

export interface BuildBootstrapOptions extends BootstrapSettings {
  outdir: string;
}

export function buildBootstrapApp(opts: BuildBootstrapOptions): { app: App; stack: BootstrapStack } {
  mkdirSync(opts.outdir, { recursive: true });
  const app = new App({ outdir: opts.outdir, stackTraces: false });
  return { app, stack: new BootstrapStack(app, opts) };
}
