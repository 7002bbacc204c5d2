import { describe, expect, it } from 'vitest';
import { dynamoEnvSchema, dynamoOptionsFromEnv, s3EnvSchema, s3OptionsFromEnv, uploadRequestTimeoutMs } from '../../src/index.ts';

const options = (env: Record<string, string>) => s3OptionsFromEnv(s3EnvSchema.parse(env));

describe('s3OptionsFromEnv', () => {
  it('uses path style for a custom endpoint and virtual-hosted buckets on AWS, unless told otherwise', () => {
    expect(options({}).forcePathStyle).toBe(false);
    expect(options({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4569' }).forcePathStyle).toBe(true);
    // An endpoint that serves virtual-hosted buckets (the runner passes the setting on to functions).
    expect(options({ AWS_ENDPOINT_URL_S3: 'https://s3.example.com', LAMINAR_S3_FORCE_PATH_STYLE: 'false' }).forcePathStyle).toBe(false);
    expect(options({ LAMINAR_S3_FORCE_PATH_STYLE: 'true' }).forcePathStyle).toBe(true);
    expect(() => options({ LAMINAR_S3_FORCE_PATH_STYLE: 'yes' })).toThrow();
  });

  it('takes the SDK\'s endpoint for every service when the per-service one is unset, as the SDK would', () => {
    expect(options({ AWS_ENDPOINT_URL: 'http://127.0.0.1:9000' })).toMatchObject({ endpoint: 'http://127.0.0.1:9000', forcePathStyle: true });
    expect(options({ AWS_ENDPOINT_URL: 'http://127.0.0.1:9000', AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4569' }).endpoint).toBe('http://127.0.0.1:4569');
    const dynamo = (env: Record<string, string>) => dynamoOptionsFromEnv(dynamoEnvSchema.parse(env));
    expect(dynamo({ AWS_ENDPOINT_URL: 'http://127.0.0.1:9000' }).endpoint).toBe('http://127.0.0.1:9000');
    expect(dynamo({ AWS_ENDPOINT_URL: 'http://127.0.0.1:9000', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000' }).endpoint).toBe('http://127.0.0.1:8000');
  });
});

describe('endpoint settings', () => {
  it('refuse an endpoint without http:// or https://, which the SDK could never reach, and name the variable', () => {
    for (const [schema, name] of [
      [s3EnvSchema, 'AWS_ENDPOINT_URL_S3'],
      [dynamoEnvSchema, 'AWS_ENDPOINT_URL_DYNAMODB'],
      [s3EnvSchema, 'AWS_ENDPOINT_URL'],
      [dynamoEnvSchema, 'AWS_ENDPOINT_URL'],
    ] as const) {
      for (const bad of ['localhost:8000', '127.0.0.1:4569', 'ftp://127.0.0.1:21']) {
        const parsed = schema.safeParse({ [name]: bad });
        expect(parsed.success, `${name}=${bad}`).toBe(false);
        expect(parsed.error?.issues[0]?.path).toEqual([name]);
      }
      expect(schema.safeParse({ [name]: 'http://localhost:8000' }).success).toBe(true);
      expect(schema.safeParse({ [name]: 'https://s3.eu-west-1.amazonaws.com' }).success).toBe(true);
    }
  });
});

describe('uploadRequestTimeoutMs', () => {
  it("is the client's 30 s for a part, and longer for a body that needs it at 256 KiB/s", () => {
    expect(uploadRequestTimeoutMs(0)).toBe(30_000);
    expect(uploadRequestTimeoutMs(5 * 2 ** 20)).toBe(30_000);
    expect(uploadRequestTimeoutMs(64 * 2 ** 20)).toBe(262_144);
  });
});
