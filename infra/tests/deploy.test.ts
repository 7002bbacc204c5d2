import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertPlanHash, sha256Hex, zipMismatches } from '../src/deploy.ts';
import { TEST_TMP } from './paths.ts';

function scratch(): string {
  mkdirSync(TEST_TMP, { recursive: true });
  return mkdtempSync(join(TEST_TMP, 'deploy-'));
}

const base64Sha = (data: string) => createHash('sha256').update(data).digest('base64');

describe('assertPlanHash', () => {
  it('accepts the plan file whose hash was published, in either case and with a trailing newline', () => {
    const plan = join(scratch(), 'tfplan');
    writeFileSync(plan, 'plan bytes');
    const sha = sha256Hex(plan);
    expect(sha).toBe(createHash('sha256').update('plan bytes').digest('hex'));
    expect(() => assertPlanHash(plan, `${sha.toUpperCase()}\n`)).not.toThrow();
  });

  it('refuses any other plan file, and a value that is not a SHA-256', () => {
    const plan = join(scratch(), 'tfplan');
    writeFileSync(plan, 'another plan');
    expect(() => assertPlanHash(plan, '0'.repeat(64))).toThrow(/not 0{64}.*plan again/);
    expect(() => assertPlanHash(plan, 'latest')).toThrow(/not a hex SHA-256/);
  });
});

describe('zipMismatches', () => {
  it('checks every planned file upload against its source_code_hash, relative to the stack folder', () => {
    const root = scratch();
    const stack = join(root, 'cdktf.out', 'stacks', 'laminar-dev');
    mkdirSync(stack, { recursive: true });
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, 'dist', 'fn.zip'), 'built');
    writeFileSync(join(root, 'dist', 'layer.zip'), 'rebuilt');
    const plan = {
      resource_changes: [
        { address: 'aws_lambda_function.fn', change: { after: { filename: './../../../dist/fn.zip', source_code_hash: base64Sha('built') } } },
        { address: 'aws_lambda_layer_version.layer', change: { after: { filename: './../../../dist/layer.zip', source_code_hash: base64Sha('tested') } } },
        { address: 'aws_lambda_function.gone', change: { after: { filename: './../../../dist/gone.zip', source_code_hash: base64Sha('x') } } },
        // Deleted, or no local file: nothing to upload.
        { address: 'aws_lambda_function.deleted', change: { after: null } },
        { address: 'aws_s3_bucket.lake', change: { after: { bucket: 'laminar-dev-lake' } } },
      ],
    };
    const { problems, checked } = zipMismatches(plan, stack);
    expect(checked).toBe(3);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^aws_lambda_layer_version\.layer: .*dist\/layer\.zip has SHA-256 .*, the plan says /);
    expect(problems[1]).toMatch(/^aws_lambda_function\.gone: .*dist\/gone\.zip is missing$/);
  });
});
