import { beforeEach, describe, expect, it, vi } from 'vitest';

// Stands in for Powertools Parameters (which would call Secrets Manager / SSM).
// Powertools' providers, their reads recorded (getSecret: SecretsProvider#get, getParameter: SSMProvider#get) with the options each was made with.
const powertools = vi.hoisted(() => ({ getSecret: vi.fn(), getParameter: vi.fn(), providerOptions: [] as unknown[] }));
vi.mock('@aws-lambda-powertools/parameters/secrets', () => ({
  SecretsProvider: class {
    constructor(options: unknown) {
      powertools.providerOptions.push(options);
    }
    get = powertools.getSecret;
  },
}));
vi.mock('@aws-lambda-powertools/parameters/ssm', () => ({
  SSMProvider: class {
    constructor(options: unknown) {
      powertools.providerOptions.push(options);
    }
    get = powertools.getParameter;
  },
}));

import {
  CREDENTIALS_MAX_AGE_S,
  type KafkaEnv,
  KafkaConfigError,
  kafkaEnvSchema,
  producerConfig,
  resolveKafkaConfig,
} from '../../src/index.ts';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:laminar/kafka-AbCdEf';
const env = (overrides: Record<string, string>): KafkaEnv =>
  kafkaEnvSchema.parse({ KAFKA_BOOTSTRAP_SERVERS: 'pkc-abc12.eu-west-1.aws.confluent.cloud:9092', ...overrides });

const COMMON = {
  'bootstrap.servers': 'pkc-abc12.eu-west-1.aws.confluent.cloud:9092',
  'enable.idempotence': true,
  acks: 'all',
  'compression.type': 'lz4',
  partitioner: 'murmur2_random',
  'linger.ms': 20,
  'batch.size': 1_000_000,
  'batch.num.messages': 10_000,
  'queue.buffering.max.messages': 100_000,
  'queue.buffering.max.kbytes': 65_536,
  'socket.keepalive.enable': true,
  dr_cb: true,
};

beforeEach(() => {
  powertools.getSecret.mockReset();
  powertools.getParameter.mockReset();
});

describe('kafkaEnvSchema', () => {
  it('defaults to SASL_SSL with PLAIN', () => {
    expect(kafkaEnvSchema.parse({ KAFKA_BOOTSTRAP_SERVERS: 'b:9092' })).toEqual({
      KAFKA_BOOTSTRAP_SERVERS: 'b:9092',
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'PLAIN',
    });
  });

  it('rejects a missing bootstrap list and unknown mechanisms', () => {
    expect(kafkaEnvSchema.safeParse({}).success).toBe(false);
    expect(kafkaEnvSchema.safeParse({ KAFKA_BOOTSTRAP_SERVERS: 'b:9092', KAFKA_SASL_MECHANISM: 'GSSAPI' }).success).toBe(false);
  });
});

describe('producerConfig (the exact librdkafka configuration)', () => {
  it('SASL_SSL with PLAIN (Confluent Cloud API key and secret)', async () => {
    powertools.getSecret.mockResolvedValue('{"key":"ABCDEFGHIJKLMNOP","secret":"s3cr3t/with+chars="}');
    const config = await resolveKafkaConfig(env({ KAFKA_CREDENTIALS_SECRET_ARN: SECRET_ARN, KAFKA_CLIENT_ID: 'rss-producer' }));
    expect(producerConfig(config)).toEqual({
      ...COMMON,
      'client.id': 'rss-producer',
      'security.protocol': 'sasl_ssl',
      'sasl.mechanisms': 'PLAIN',
      'sasl.username': 'ABCDEFGHIJKLMNOP',
      'sasl.password': 's3cr3t/with+chars=',
      'ssl.ca.location': 'probe',
    });
  });

  it('SASL_SSL with SCRAM-SHA-512 (MSK), credentials from SSM', async () => {
    powertools.getParameter.mockResolvedValue('{"username":"laminar","password":"pw"}');
    const config = await resolveKafkaConfig(
      env({ KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_CREDENTIALS_PARAMETER_NAME: '/laminar/prod/kafka' }),
    );
    expect(producerConfig(config)).toEqual({
      ...COMMON,
      'client.id': 'laminar-producer',
      'security.protocol': 'sasl_ssl',
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'laminar',
      'sasl.password': 'pw',
      'ssl.ca.location': 'probe',
    });
  });

  it('PLAINTEXT for the local broker: no SASL, no TLS, no secret fetched', async () => {
    const config = await resolveKafkaConfig(
      env({ KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:39092', KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT', KAFKA_CREDENTIALS_SECRET_ARN: SECRET_ARN }),
    );
    expect(producerConfig(config)).toEqual({
      ...COMMON,
      'bootstrap.servers': '127.0.0.1:39092',
      'client.id': 'laminar-producer',
      'security.protocol': 'plaintext',
    });
    expect(powertools.getSecret).not.toHaveBeenCalled();
  });
});

describe('resolveKafkaConfig', () => {
  it('fetches the secret through Powertools with a cache age, once per call', async () => {
    powertools.getSecret.mockResolvedValue('{"username":"u","password":"p"}');
    await resolveKafkaConfig(env({ KAFKA_CREDENTIALS_SECRET_ARN: SECRET_ARN }));
    expect(powertools.getSecret).toHaveBeenCalledTimes(1);
    expect(powertools.getSecret).toHaveBeenCalledWith(SECRET_ARN, { maxAge: CREDENTIALS_MAX_AGE_S, forceFetch: false });
    await resolveKafkaConfig(env({ KAFKA_CREDENTIALS_SECRET_ARN: SECRET_ARN }), { forceFetch: true });
    expect(powertools.getSecret).toHaveBeenLastCalledWith(SECRET_ARN, { maxAge: CREDENTIALS_MAX_AGE_S, forceFetch: true });
    // One provider of each kind for the environment (their cache lives in them), on clients whose
    // reads fail in seconds: @laminar/aws's parameterClientConfig.
    expect(powertools.providerOptions).toHaveLength(2);
    for (const options of powertools.providerOptions) {
      const { clientConfig } = options as { clientConfig: { maxAttempts: number; requestHandler: { httpHandlerConfigs(): unknown } } };
      expect(clientConfig.maxAttempts).toBe(3);
      expect(clientConfig.requestHandler.constructor.name).toBe('NodeHttpHandler');
    }
  });

  it('decrypts the SSM parameter', async () => {
    powertools.getParameter.mockResolvedValue('{"key":"k","secret":"s"}');
    const config = await resolveKafkaConfig(env({ KAFKA_CREDENTIALS_PARAMETER_NAME: '/laminar/kafka' }));
    expect(powertools.getParameter).toHaveBeenCalledWith('/laminar/kafka', {
      decrypt: true,
      maxAge: CREDENTIALS_MAX_AGE_S,
      forceFetch: false,
    });
    expect(config).toMatchObject({ securityProtocol: 'SASL_SSL', saslMechanism: 'PLAIN', username: 'k', password: 's' });
  });

  it('accepts a binary secret', async () => {
    powertools.getSecret.mockResolvedValue(new TextEncoder().encode('{"username":"u","password":"p"}'));
    expect(await resolveKafkaConfig(env({ KAFKA_CREDENTIALS_SECRET_ARN: SECRET_ARN }))).toMatchObject({ username: 'u', password: 'p' });
  });

  it('accepts injected fetchers instead of Powertools', async () => {
    const getSecret = vi.fn().mockResolvedValue('{"username":"u","password":"p"}');
    const config = await resolveKafkaConfig(env({ KAFKA_CREDENTIALS_SECRET_ARN: SECRET_ARN }), {
      fetchers: { getSecret, getParameter: vi.fn() },
    });
    expect(config).toMatchObject({ username: 'u' });
    expect(powertools.getSecret).not.toHaveBeenCalled();
  });

  it('SASL_SSL without a credentials reference is a config error naming the variables', async () => {
    const attempt = resolveKafkaConfig(env({}));
    await expect(attempt).rejects.toBeInstanceOf(KafkaConfigError);
    await expect(attempt).rejects.toThrow(/KAFKA_CREDENTIALS_SECRET_ARN/);
    await expect(attempt).rejects.toThrow(/KAFKA_CREDENTIALS_PARAMETER_NAME/);
  });

  it('refuses two references at once', async () => {
    await expect(
      resolveKafkaConfig(env({ KAFKA_CREDENTIALS_SECRET_ARN: SECRET_ARN, KAFKA_CREDENTIALS_PARAMETER_NAME: '/p' })),
    ).rejects.toThrow(/only one of KAFKA_CREDENTIALS_SECRET_ARN and KAFKA_CREDENTIALS_PARAMETER_NAME/);
  });

  it.each([
    ['not JSON', 'user:s3cr3t-value', /not JSON/],
    ['a wrong shape', '{"user":"u","pass":"s3cr3t-value"}', /\{"username","password"\} or \{"key","secret"\}/],
    ['an empty password', '{"username":"u","password":""}', /non-empty/],
    ['no value', undefined, /no string value/],
  ])('rejects a secret that is %s without echoing it', async (_, raw, message) => {
    powertools.getSecret.mockResolvedValue(raw);
    const attempt = resolveKafkaConfig(env({ KAFKA_CREDENTIALS_SECRET_ARN: SECRET_ARN }));
    await expect(attempt).rejects.toThrow(message);
    await expect(attempt).rejects.toThrow(/KAFKA_CREDENTIALS_SECRET_ARN/);
    await expect(attempt).rejects.not.toThrow(/s3cr3t-value/);
  });
});
