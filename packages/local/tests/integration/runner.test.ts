import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startS3 } from '@laminar/emulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnknownFunctionError } from '../../src/invoker.ts';
import { MissingBuildError, startLocal } from '../../src/runner.ts';
import { probeRoot } from './root-fixture.ts';

let root: Awaited<ReturnType<typeof probeRoot>>;

beforeAll(async () => {
  root = await probeRoot();
});
afterAll(() => root.remove());

type Probe = { status: number; listing: string; bucket: string; accessKeyId: string; pathStyle: string };

describe('startLocal', () => {
  it('starts the embedded S3, creates the local buckets and points functions at them', async () => {
    const local = await startLocal({ root: root.dir, functions: ['probe'], env: {} });
    try {
      expect(local.s3?.embedded).toBeDefined();
      expect(local.buckets).toEqual({ data: 'laminar-local-data' });
      await local.s3?.client.send(new PutObjectCommand({ Bucket: 'laminar-local-data', Key: 'seeded.txt', Body: 'hi' }));
      const res = await local.invoke('probe', {});
      const r = res.result as Probe;
      expect(r).toMatchObject({ status: 200, bucket: 'laminar-local-data', accessKeyId: 'S3RVER', pathStyle: 'true' });
      expect(r.listing).toContain('<Key>seeded.txt</Key>');
      expect(existsSync(join(root.dir, '.laminar', 'envs'))).toBe(true);
    } finally {
      await local.stop();
    }
    expect(local.invoker.environments('probe')).toHaveLength(0);
  });

  it('uses a configured endpoint with the ambient credentials and starts no emulator', async () => {
    const external = await startS3();
    try {
      const env = {
        LAMINAR_S3_ENDPOINT: external.endpoint,
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        AWS_REGION: 'eu-central-1',
        LAMINAR_BUCKET_PREFIX: 'elsewhere-',
      };
      const local = await startLocal({ root: root.dir, functions: ['probe'], env });
      try {
        expect(local.s3?.embedded).toBeUndefined();
        expect(local.s3?.endpoint).toBe(external.endpoint);
        const r = (await local.invoke('probe', {})).result as Probe;
        expect(r).toMatchObject({ status: 200, bucket: 'elsewhere-data' });
      } finally {
        await local.stop();
      }
    } finally {
      await external.stop();
    }
  });

  it('says "run pnpm build" when a function has no zip', async () => {
    const err = await startLocal({ root: root.dir, env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingBuildError);
    expect((err as Error).message).toContain('functions/unbuilt/dist/unbuilt.zip');
    expect((err as Error).message).toContain('run pnpm build');
  });

  it('lists the known functions for an unknown one', async () => {
    const err = await startLocal({ root: root.dir, functions: ['nope'], env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownFunctionError);
    expect((err as Error).message).toBe('Function not found: nope. Known functions: probe, unbuilt');
  });
});
