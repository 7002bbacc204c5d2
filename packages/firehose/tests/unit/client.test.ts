import { describe, expect, it } from 'vitest';
import { firehoseEnvSchema, firehoseOptionsFromEnv } from '../../src/client.ts';

describe('firehoseEnvSchema', () => {
  it('takes an http(s) endpoint and refuses one without its scheme, naming the variable', () => {
    expect(firehoseOptionsFromEnv(firehoseEnvSchema.parse({ AWS_ENDPOINT_URL_FIREHOSE: 'http://127.0.0.1:4573' })).endpoint).toBe('http://127.0.0.1:4573');
    expect(firehoseOptionsFromEnv(firehoseEnvSchema.parse({})).endpoint).toBeUndefined();
    for (const bad of ['localhost:4573', '127.0.0.1:4573', 'ftp://127.0.0.1']) {
      const parsed = firehoseEnvSchema.safeParse({ AWS_ENDPOINT_URL_FIREHOSE: bad });
      expect(parsed.success, bad).toBe(false);
      expect(parsed.error?.issues[0]?.path).toEqual(['AWS_ENDPOINT_URL_FIREHOSE']);
    }
  });
});
