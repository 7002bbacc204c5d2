import { Testing } from 'cdktf';
import { describe, expect, it } from 'vitest';
import { DataBucket } from '../src/constructs/data-bucket.ts';

type Rule = { id: string; filter: unknown; expiration?: unknown };
const base = { stage: 'dev', logical: 'docs', versioned: true, abortIncompleteUploads: true };

function lifecycleRules(expirations: { prefix: string; days: number }[]): Rule[] {
  const json = JSON.parse(Testing.synthScope((scope) => new DataBucket(scope, 'bucket', { ...base, expirations })));
  const [config] = Object.values(json.resource.aws_s3_bucket_lifecycle_configuration) as { rule: Rule[] }[];
  return (config as { rule: Rule[] }).rule;
}

describe('DataBucket expirations', () => {
  it('one rule per prefix and days, in a fixed order, however many specs name it', () => {
    const rules = lifecycleRules([
      { prefix: 'manifests/', days: 8 },
      { prefix: 'exports/tmp/', days: 1 },
      { prefix: 'manifests/', days: 8 },
    ]);
    expect(rules.map((r) => r.id)).toEqual(['abort-incomplete-multipart-uploads', 'expire-exports-tmp-after-1d', 'expire-manifests-after-8d']);
  });

  it('refuses two prefixes that would share a rule id, at synth rather than at apply', () => {
    expect(() => lifecycleRules([{ prefix: 'a b/', days: 1 }, { prefix: 'a+b/', days: 1 }])).toThrow(
      'bucket docs: two expiringOutputs prefixes give the lifecycle rule id "expire-a-b-after-1d"; rename one',
    );
  });
});
