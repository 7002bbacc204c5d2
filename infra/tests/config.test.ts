import { rmSync } from 'node:fs';
import { defineFunction } from '@laminar/spec';
import { describe, expect, it } from 'vitest';
import { settingsFromEnv } from '../src/config.ts';
import { permissionStatements } from '../src/policy.ts';
import { fakeArtifact, fakeRoot, pdfManifest, synthInto } from './fixtures.ts';

describe('settingsFromEnv', () => {
  it('defaults: dev, eu-west-1, local state, git sha "local"', () => {
    expect(settingsFromEnv({})).toEqual({
      stages: ['dev'],
      region: 'eu-west-1',
      gitSha: 'local',
      backend: { kind: 'local' },
    });
  });

  it('reads a comma list of stages, region, sha, state bucket, lock table and suffix', () => {
    expect(
      settingsFromEnv({
        LAMINAR_STAGE: 'dev, prod,dev',
        LAMINAR_AWS_REGION: 'us-east-2',
        GITHUB_SHA: 'abc123',
        LAMINAR_STATE_BUCKET: 'tf-state',
        LAMINAR_STATE_LOCK_TABLE: 'tf-locks',
        LAMINAR_BUCKET_SUFFIX: 'acme',
      }),
    ).toEqual({
      stages: ['dev', 'prod'],
      region: 'us-east-2',
      gitSha: 'abc123',
      backend: { kind: 's3', bucket: 'tf-state', region: 'us-east-2', lockTable: 'tf-locks' },
      bucketSuffix: 'acme',
    });
  });

  it('refuses stages that would break resource names', () => {
    expect(() => settingsFromEnv({ LAMINAR_STAGE: 'Prod' })).toThrow(/stage "Prod"/);
    expect(() => settingsFromEnv({ LAMINAR_STAGE: 'a-very-long-stage-name' })).toThrow(/at most 12/);
    expect(() => settingsFromEnv({ LAMINAR_STAGE: ' , ' })).toThrow(/no stage/);
    expect(() => settingsFromEnv({ LAMINAR_BUCKET_SUFFIX: 'Bad_Suffix' })).toThrow(/LAMINAR_BUCKET_SUFFIX/);
  });
});

describe('stages and backends', () => {
  it('one stack per stage, S3 state with native locking, bucket suffix applied', async () => {
    const root = fakeRoot();
    const s = synthInto(root, [await pdfManifest(root)], {
      stages: ['dev', 'prod'],
      gitSha: 'deadbeef',
      backend: { kind: 's3', bucket: 'tf-state', region: 'eu-west-1' },
      bucketSuffix: 'acme',
    });
    for (const stage of ['dev', 'prod']) {
      const json = s.json(`laminar-${stage}`);
      expect(json.terraform.backend).toEqual({
        s3: { bucket: 'tf-state', key: `laminar/${stage}.tfstate`, region: 'eu-west-1', encrypt: true, use_lockfile: true },
      });
      expect(Object.values(json.resource.aws_s3_bucket ?? {}).map((b) => b.bucket)).toEqual([
        `laminar-${stage}-documents-acme`,
      ]);
      // The commit tags the functions, whose code it names, and nothing else (a tag on every
      // resource changed them all in every plan).
      expect(JSON.stringify(json.provider.aws)).not.toContain('git_sha');
      for (const fn of Object.values(json.resource.aws_lambda_function ?? {})) expect((fn.tags as Record<string, string>).git_sha).toBe('deadbeef');
      expect(JSON.stringify(json.resource).match(/git_sha/g)).toHaveLength(Object.keys(json.resource.aws_lambda_function ?? {}).length);
      expect(JSON.stringify(json.resource.aws_lambda_function)).toContain(`laminar-${stage}-documents-acme`);
    }
  });

  it('a DynamoDB lock table replaces the lockfile', async () => {
    const root = fakeRoot();
    const s = synthInto(root, [await pdfManifest(root)], {
      backend: { kind: 's3', bucket: 'tf-state', region: 'eu-west-1', lockTable: 'tf-locks' },
    });
    expect(s.json('laminar-dev').terraform.backend).toEqual({
      s3: { bucket: 'tf-state', key: 'laminar/dev.tfstate', region: 'eu-west-1', encrypt: true, dynamodb_table: 'tf-locks' },
    });
  });

  it('a read-only bucket gets neither versioning nor a lifecycle rule', async () => {
    const root = fakeRoot();
    const reader = defineFunction({
      name: 'reader',
      memoryMb: 128,
      timeoutS: 10,
      triggers: [{ kind: 'invoke' }],
      permissions: [{ actions: ['s3:GetObject'], resource: { bucket: 'archive', prefix: '*' } }],
    });
    const json = synthInto(root, [fakeArtifact(root, reader)]).json('laminar-dev');
    expect(json.resource.aws_s3_bucket_versioning).toBeUndefined();
    expect(json.resource.aws_s3_bucket_lifecycle_configuration).toBeUndefined();
    expect(json.resource.aws_s3_bucket_public_access_block).toBeDefined();
  });
});

describe('synth errors', () => {
  it('a missing zip says to run pnpm build', async () => {
    const root = fakeRoot();
    const loaded = await pdfManifest(root);
    rmSync(loaded.zipPath);
    expect(() => synthInto(root, [loaded])).toThrow(/pdf-manifest.*missing\. Run `pnpm build`/s);
  });

  it('a missing or malformed hash file is refused', async () => {
    const root = fakeRoot();
    const loaded = await pdfManifest(root);
    rmSync(loaded.hashPath);
    expect(() => synthInto(root, [loaded])).toThrow(/\.zip\.sha256 is missing/);
  });

  it('object actions without a prefix are refused rather than granted on the bucket ARN', () => {
    const spec = defineFunction({
      name: 'writer',
      memoryMb: 128,
      timeoutS: 10,
      triggers: [{ kind: 'invoke' }],
      permissions: [{ actions: ['s3:PutObject'], resource: { bucket: 'out' } }],
    });
    expect(() => permissionStatements(spec, { bucket: (b) => `arn:aws:s3:::${b}`, table: (t) => t, deliveryStream: (d) => d })).toThrow(/give the permission a prefix/);
    // An empty prefix is no prefix: granted as "<bucket>/" it would match no object at all.
    const empty = defineFunction({ ...spec, permissions: [{ actions: ['s3:PutObject'], resource: { bucket: 'out', prefix: '' } }] });
    expect(() => permissionStatements(empty, { bucket: (b) => `arn:aws:s3:::${b}`, table: (t) => t, deliveryStream: (d) => d })).toThrow(/give the permission a prefix/);
  });

  it('grants a permission over several key patterns in one statement', () => {
    const spec = defineFunction({
      name: 'reader',
      memoryMb: 128,
      timeoutS: 10,
      triggers: [{ kind: 'invoke' }],
      permissions: [{ actions: ['s3:GetObject', 's3:ListBucket'], resource: { bucket: 'in', prefix: ['a/*.csv', 'a/*.CSV'] } }],
    });
    expect(permissionStatements(spec, { bucket: (b) => `arn:aws:s3:::${b}`, table: (t) => t, deliveryStream: (d) => d })).toEqual([
      { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: ['arn:aws:s3:::in'], Condition: { StringLike: { 's3:prefix': ['a/*.csv', 'a/*.CSV'] } } },
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::in/a/*.csv', 'arn:aws:s3:::in/a/*.CSV'] },
    ]);
  });

  it('a layer that is not in the repository stops the synth', () => {
    const root = fakeRoot();
    const spec = defineFunction({
      name: 'with-layer',
      memoryMb: 128,
      timeoutS: 10,
      layers: ['kafka-layer'],
      triggers: [{ kind: 'invoke' }],
    });
    expect(() => synthInto(root, [fakeArtifact(root, spec)])).toThrow(/no layer "kafka-layer"/);
  });
});
