import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config.ts';
import { inputSchema } from '../../src/input.ts';
import { manifestKeyFor } from '../../src/manifest.ts';

const config = configSchema.parse({ DEFAULT_BUCKET: 'laminar-local-documents' });
const schema = inputSchema(config);

describe('pdf-manifest input', () => {
  it('fills defaults from the environment', () => {
    expect(schema.parse({})).toEqual({
      bucket: 'laminar-local-documents',
      prefix: '',
      suffix: '.pdf',
      expiresIn: 900,
      manifestPrefix: 'manifests/',
    });
  });

  it('accepts the expiry bounds and refuses beyond them', () => {
    expect(schema.parse({ expiresIn: 1 }).expiresIn).toBe(1);
    expect(schema.parse({ expiresIn: 604_800 }).expiresIn).toBe(604_800);
    expect(schema.safeParse({ expiresIn: 0 }).success).toBe(false);
    expect(schema.safeParse({ expiresIn: 604_801 }).success).toBe(false);
    expect(schema.safeParse({ expiresIn: 1.5 }).success).toBe(false);
  });

  it('refuses unknown fields, bad buckets and bad prefixes, naming each', () => {
    const result = schema.safeParse({ bucket: 'Bad_Bucket', prefix: '/x', manifestPrefix: 'out', sufix: '.pdf' });
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((i) => i.path.join('.') || i.message) ?? [];
    expect(paths.join(' ')).toMatch(/bucket/);
    expect(paths.join(' ')).toMatch(/prefix/);
    expect(paths.join(' ')).toMatch(/manifestPrefix/);
    expect(JSON.stringify(result.error?.issues)).toMatch(/sufix/);
  });

  it('refuses a bucket or manifest prefix the function is not granted, naming what it may use', () => {
    const other = schema.safeParse({ bucket: 'someone-elses-bucket', manifestPrefix: 'exports/' });
    expect(other.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['bucket', 'this function may read laminar-local-documents only (its DEFAULT_BUCKET), not someone-elses-bucket'],
      ['manifestPrefix', 'this function may write manifests under "manifests/" only (its MANIFEST_PREFIX), not "exports/"'],
    ]);
    // Its own bucket named outright, and a folder inside the manifest prefix, are what the role allows.
    expect(schema.parse({ bucket: 'laminar-local-documents', manifestPrefix: 'manifests/team-a/' })).toMatchObject({
      bucket: 'laminar-local-documents',
      manifestPrefix: 'manifests/team-a/',
    });
    expect(schema.safeParse({ manifestPrefix: '' }).success).toBe(false);
  });

  it('refuses a prefix or manifest prefix holding an unpaired surrogate, which JSON carries and no S3 request can', () => {
    for (const input of ['{"prefix":"reports/\\ud800"}', '{"manifestPrefix":"manifests/\\udc00/"}']) {
      const event = JSON.parse(input) as Record<string, string>;
      const result = schema.safeParse(event);
      expect(result.success, input).toBe(false);
      expect(result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toContainEqual(expect.stringMatching(new RegExp(`^${Object.keys(event)[0]}: must be valid Unicode`)));
    }
    // A pair (an emoji) is one character, and fine.
    expect(schema.parse({ prefix: 'reports/😀/' }).prefix).toBe('reports/😀/');
  });

  it('refuses, before any listing, a manifest prefix whose manifest key S3 would refuse (keys end at 1,024 bytes of UTF-8)', () => {
    const fits = `manifests/${'a'.repeat(1024 - 53 - 'manifests/'.length - 1)}/`;
    expect(Buffer.byteLength(fits)).toBe(971);
    const parsed = schema.parse({ manifestPrefix: fits });
    expect(Buffer.byteLength(manifestKeyFor(parsed, '8c0f5f4e-2d2a-4c8e-9d55-3f1a1c2b7e90', new Date('2026-11-29T00:00:00Z')))).toBe(1024);
    const tooLong = `manifests/${'a'.repeat(980)}/`;
    expect(schema.safeParse({ manifestPrefix: tooLong }).error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['manifestPrefix', "must be at most 971 bytes (UTF-8): the manifest's key adds 53 to it, and S3 keys end at 1,024"],
    ]);
    // Bytes, not characters: 400 three-byte characters are 1,200 bytes.
    expect(schema.safeParse({ manifestPrefix: `manifests/${'€'.repeat(400)}/` }).success).toBe(false);
    expect(schema.safeParse({ prefix: 'é'.repeat(600) }).error?.issues.map((i) => i.path.join('.'))).toEqual(['prefix']);
  });

  it('refuses a manifest prefix with a "." or ".." segment, whose manifest no URL could reach', () => {
    for (const manifestPrefix of ['manifests/../', 'manifests/./team/', 'manifests/team/../']) {
      expect(schema.safeParse({ manifestPrefix }).error?.issues.map((i) => [i.path.join('.'), i.message]), manifestPrefix).toEqual([
        ['manifestPrefix', expect.stringMatching(/^must not hold a "\.\.?" path segment, which URL parsers resolve away before the request is sent: the manifest's link could not reach it$/)],
      ]);
    }
    expect(schema.parse({ manifestPrefix: 'manifests/v1.2/' }).manifestPrefix).toBe('manifests/v1.2/');
    // The deploy-time default is checked too: an event that names none would take it unchecked.
    expect(configSchema.safeParse({ MANIFEST_PREFIX: 'manifests/./' }).error?.issues[0]?.message).toMatch(/^must not hold a "\." path segment/);
  });

  it('needs a bucket from the event when no default is configured', () => {
    const noDefault = inputSchema(configSchema.parse({}));
    expect(noDefault.safeParse({}).error?.issues[0]?.message).toMatch(/no DEFAULT_BUCKET/);
  });

  it('names manifests by date and request id', () => {
    expect(manifestKeyFor(schema.parse({}), 'req-1', new Date('2026-11-25T10:00:00Z'))).toBe('manifests/2026-11-25/req-1.jsonl');
  });

  it('refuses a configuration with a bad manifest prefix or expiry, naming the variable', () => {
    expect(configSchema.safeParse({ MANIFEST_PREFIX: 'x' }).error?.issues[0]?.path).toEqual(['MANIFEST_PREFIX']);
    expect(configSchema.safeParse({ URL_EXPIRY_SECONDS: '0' }).error?.issues[0]?.path).toEqual(['URL_EXPIRY_SECONDS']);
  });
});
