import { join } from 'node:path';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import { bucketsOf, type LoadedSpec, writesTo } from '@laminar/spec';
import { LocalBackend, S3Backend, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import type { StateBackend } from './config.ts';
import { DataBucket } from './constructs/data-bucket.ts';
import { NodeFunction } from './constructs/node-function.ts';
import { PROJECT, stackName } from './naming.ts';

export interface LaminarStackProps {
  stage: string;
  region: string;
  gitSha: string;
  backend: StateBackend;
  bucketSuffix?: string;
  specs: readonly LoadedSpec[];
  /** The app's outdir; artifact paths are made relative to this stack's folder inside it. */
  outdir: string;
}

export class LaminarStack extends TerraformStack {
  readonly buckets = new Map<string, DataBucket>();
  readonly functions = new Map<string, NodeFunction>();

  constructor(scope: Construct, props: LaminarStackProps) {
    const name = stackName(props.stage);
    super(scope, name);
    const { stage } = props;

    // default_tags rather than per-resource tags: every resource, including ones added later, gets them.
    new AwsProvider(this, 'aws', {
      region: props.region,
      defaultTags: [{ tags: { project: PROJECT, stage, git_sha: props.gitSha } }],
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

    const specs = [...props.specs].sort((a, b) => a.spec.name.localeCompare(b.spec.name));
    const logical = [...new Set(specs.flatMap((l) => bucketsOf(l.spec)))].sort();
    for (const b of logical) {
      const written = specs.some((l) => writesTo(l.spec, b));
      this.buckets.set(
        b,
        new DataBucket(this, `bucket-${b}`, {
          stage,
          logical: b,
          ...(props.bucketSuffix ? { suffix: props.bucketSuffix } : {}),
          versioned: written,
          abortIncompleteUploads: written,
        }),
      );
    }

    const stackDir = join(props.outdir, 'stacks', name);
    for (const loaded of specs) {
      this.functions.set(
        loaded.spec.name,
        new NodeFunction(this, `fn-${loaded.spec.name}`, { stage, loaded, buckets: this.buckets, stackDir }),
      );
    }
  }
}
