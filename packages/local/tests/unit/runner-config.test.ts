import { describe, expect, it } from 'vitest';
import { newLogStreamName } from '../../src/environment.ts';
import { localBucketName, resolveS3Target } from '../../src/runner.ts';
import { expectedKeys, HAND_WRITTEN_KEYS, seedObjects } from '../../src/scenarios/pdf-manifest.ts';
import { samplePdf } from '../../src/scenarios/sample-pdf.ts';
import { stateDirectory } from '../../src/state-directory.ts';

describe('S3 target', () => {
  it('is embedded unless an endpoint is configured', () => {
    expect(resolveS3Target(undefined, {})).toEqual({ kind: 'embedded' });
    expect(resolveS3Target(undefined, { AWS_ENDPOINT_URL_S3: '' })).toEqual({ kind: 'embedded' });
  });

  it('takes the option, then LAMINAR_S3_ENDPOINT, then AWS_ENDPOINT_URL_S3', () => {
    const env = { LAMINAR_S3_ENDPOINT: 'http://b:2/', AWS_ENDPOINT_URL_S3: 'http://c:3' };
    expect(resolveS3Target('http://a:1', env)).toMatchObject({ endpoint: 'http://a:1', source: 's3Endpoint option' });
    expect(resolveS3Target(undefined, env)).toMatchObject({ endpoint: 'http://b:2', source: 'LAMINAR_S3_ENDPOINT', forcePathStyle: true });
    expect(resolveS3Target(undefined, { AWS_ENDPOINT_URL_S3: 'http://c:3' })).toMatchObject({ endpoint: 'http://c:3' });
    expect(resolveS3Target(undefined, { AWS_ENDPOINT_URL_S3: 'http://c:3', LAMINAR_S3_FORCE_PATH_STYLE: 'false' })).toMatchObject({
      forcePathStyle: false,
    });
  });

  it('"aws" means AWS itself: no endpoint override, virtual-hosted buckets', () => {
    expect(resolveS3Target(undefined, { LAMINAR_S3_ENDPOINT: 'aws' })).toEqual({
      kind: 'external',
      endpoint: undefined,
      forcePathStyle: false,
      source: 'LAMINAR_S3_ENDPOINT',
    });
  });

  it('refuses a value that is not a URL', () => {
    expect(() => resolveS3Target(undefined, { LAMINAR_S3_ENDPOINT: 'localhost:9000' })).toThrow(/must be http|not a URL/);
  });

  it('names local buckets after the logical ones', () => {
    expect(localBucketName('documents')).toBe('laminar-local-documents');
    expect(localBucketName('documents', 'me-')).toBe('me-documents');
  });
});

describe('environment settings', () => {
  it('names log streams like Lambda', () => {
    expect(newLogStreamName(new Date('2026-03-04T05:06:07Z'))).toMatch(/^2026\/03\/04\/\[\$LATEST\][0-9a-f]{32}$/);
  });
});

describe('pdf-manifest scenario data', () => {
  it('generates distinct, structurally valid PDFs', () => {
    const a = samplePdf('reports/a.pdf');
    const b = samplePdf('reports/日本 🚀.pdf');
    expect(a.equals(b)).toBe(false);
    for (const pdf of [a, b]) {
      const text = pdf.toString('latin1');
      expect(text.startsWith('%PDF-1.4\n')).toBe(true);
      expect(text.endsWith('%%EOF\n')).toBe(true);
      const xrefAt = Number(/startxref\n(\d+)\n/.exec(text)?.[1]);
      expect(text.slice(xrefAt, xrefAt + 4)).toBe('xref');
      const offsets = [...text.slice(xrefAt).matchAll(/^(\d{10}) 00000 n $/gm)].map((m) => Number(m[1]));
      expect(offsets).toHaveLength(5);
      for (const [i, off] of offsets.entries()) expect(text.slice(off)).toMatch(new RegExp(`^${i + 1} 0 obj\\n`));
    }
  });

  it('expects PDFs (any case) under reports/ only', () => {
    const expected = expectedKeys(seedObjects());
    expect(expected).toContain('reports/2026/q2/SCAN.PDF');
    expect(expected).toContain('reports/2026/q2/deep/🚀 launch plan.pdf');
    expect(expected).not.toContain('reports/2026/q1/summary.pdf.bak');
    expect(expected).not.toContain('Reports/upper-case-prefix.pdf');
    expect(expected).not.toContain('archive/2025/old.pdf');
    expect(expected.length).toBe(1_050 + HAND_WRITTEN_KEYS.filter((k) => k.startsWith('reports/') && /\.pdf$/i.test(k)).length);
  });
});

describe('state directory', () => {
  it('is .laminar under the repository root unless LAMINAR_STATE_DIR names another', () => {
    expect(stateDirectory('/repo', {})).toBe('/repo/.laminar');
    expect(stateDirectory('/repo', { LAMINAR_STATE_DIR: '  ' })).toBe('/repo/.laminar');
    expect(stateDirectory('/repo', { LAMINAR_STATE_DIR: '/tmp/ci-state' })).toBe('/tmp/ci-state');
    // Relative to the root, not to wherever the command ran.
    expect(stateDirectory('/repo', { LAMINAR_STATE_DIR: '.laminar-ci' })).toBe('/repo/.laminar-ci');
  });
});
