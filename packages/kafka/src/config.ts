import { parameterClientConfig } from '@laminar/aws';
import type { KafkaEnv } from './env.ts';
import { KafkaConfigError } from './errors.ts';

export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export type ResolvedKafkaConfig = {
  bootstrapServers: string;
  clientId: string;
} & (
  | { securityProtocol: 'PLAINTEXT' }
  | { securityProtocol: 'SASL_SSL'; saslMechanism: SaslMechanism; username: string; password: string }
);

/** How credentials are fetched; Powertools Parameters by default, stubs in tests. */
export interface CredentialFetchers {
  getSecret(name: string, options: { maxAge: number; forceFetch: boolean }): Promise<unknown>;
  getParameter(name: string, options: { decrypt: true; maxAge: number; forceFetch: boolean }): Promise<unknown>;
}

export interface ResolveOptions {
  fetchers?: CredentialFetchers;
  /** Bypass the Parameters cache, e.g. after the previous producer failed (rotated credentials). */
  forceFetch?: boolean;
}

/**
 * Credentials are fetched once per producer (once per cold start in practice); the cache only
 * matters when a reset producer is recreated soon after, and a failed one forces a fetch anyway.
 */
export const CREDENTIALS_MAX_AGE_S = 900;
export const DEFAULT_CLIENT_ID = 'laminar-producer';

let defaultFetchers: Promise<CredentialFetchers> | undefined;
/**
 * Powertools Parameters' providers, made once per environment (their cache lives in them), with
 * clients whose reads fail in seconds (parameterClientConfig) rather than never. Loaded on demand
 * so PLAINTEXT (local) runs never load the SSM / Secrets Manager SDKs.
 */
function powertoolsFetchers(): Promise<CredentialFetchers> {
  defaultFetchers ??= (async () => {
    const [{ SecretsProvider }, { SSMProvider }] = await Promise.all([
      import('@aws-lambda-powertools/parameters/secrets'),
      import('@aws-lambda-powertools/parameters/ssm'),
    ]);
    const secrets = new SecretsProvider({ clientConfig: parameterClientConfig() });
    const ssm = new SSMProvider({ clientConfig: parameterClientConfig() });
    return {
      getSecret: (name, options) => secrets.get(name, options),
      getParameter: (name, options) => ssm.get(name, options),
    };
  })();
  // A failed load is not kept: the next producer tries again.
  defaultFetchers.catch(() => {
    defaultFetchers = undefined;
  });
  return defaultFetchers;
}

/** Never echoes the secret's content: errors about it end up in logs. */
function parseCredentials(raw: unknown, variable: string): { username: string; password: string } {
  const text = raw instanceof Uint8Array ? Buffer.from(raw).toString('utf8') : raw;
  if (typeof text !== 'string' || text.length === 0) {
    throw new KafkaConfigError(`the credentials named by ${variable} have no string value`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KafkaConfigError(`the credentials named by ${variable} are not JSON`);
  }
  const o = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const username = o.username ?? o.key;
  const password = o.password ?? o.secret;
  if (typeof username !== 'string' || !username || typeof password !== 'string' || !password) {
    throw new KafkaConfigError(
      `the credentials named by ${variable} must be JSON {"username","password"} or {"key","secret"} with non-empty strings`,
    );
  }
  return { username, password };
}

/**
 * Turns the environment into a complete connection config, fetching SASL credentials from
 * Secrets Manager or SSM Parameter Store (SecureString, decrypted) — never from plain env values.
 */
export async function resolveKafkaConfig(env: KafkaEnv, options: ResolveOptions = {}): Promise<ResolvedKafkaConfig> {
  const base = { bootstrapServers: env.KAFKA_BOOTSTRAP_SERVERS, clientId: env.KAFKA_CLIENT_ID ?? DEFAULT_CLIENT_ID };
  if (env.KAFKA_SECURITY_PROTOCOL === 'PLAINTEXT') return { ...base, securityProtocol: 'PLAINTEXT' };

  const secretArn = env.KAFKA_CREDENTIALS_SECRET_ARN;
  const parameter = env.KAFKA_CREDENTIALS_PARAMETER_NAME;
  if (!secretArn && !parameter) {
    throw new KafkaConfigError(
      'KAFKA_SECURITY_PROTOCOL is SASL_SSL but no credentials are referenced: set KAFKA_CREDENTIALS_SECRET_ARN (a Secrets Manager secret) or KAFKA_CREDENTIALS_PARAMETER_NAME (an SSM SecureString)',
    );
  }
  if (secretArn && parameter) {
    throw new KafkaConfigError('set only one of KAFKA_CREDENTIALS_SECRET_ARN and KAFKA_CREDENTIALS_PARAMETER_NAME');
  }
  const fetchers = options.fetchers ?? (await powertoolsFetchers());
  const cache = { maxAge: CREDENTIALS_MAX_AGE_S, forceFetch: options.forceFetch ?? false };
  const credentials = secretArn
    ? parseCredentials(await fetchers.getSecret(secretArn, cache), 'KAFKA_CREDENTIALS_SECRET_ARN')
    : parseCredentials(
        await fetchers.getParameter(parameter as string, { ...cache, decrypt: true }),
        'KAFKA_CREDENTIALS_PARAMETER_NAME',
      );
  return { ...base, securityProtocol: 'SASL_SSL', saslMechanism: env.KAFKA_SASL_MECHANISM, ...credentials };
}

/**
 * The exact global configuration handed to librdkafka's Producer (plus `dr_cb`, the binding's
 * switch for delivery reports). Everything that decides delivery guarantees lives here.
 */
export function producerConfig(config: ResolvedKafkaConfig): Record<string, unknown> {
  const common = {
    'bootstrap.servers': config.bootstrapServers,
    'client.id': config.clientId,
    // Retries cannot duplicate or reorder within a partition; implies max.in.flight <= 5.
    'enable.idempotence': true,
    acks: 'all',
    'compression.type': 'lz4',
    // Same key → same partition as Java clients (murmur2), random for null keys.
    partitioner: 'murmur2_random',
    // flush() sends at once regardless of linger; linger only lets batches fill while a large
    // send is still being enqueued.
    'linger.ms': 20,
    'batch.size': 1_000_000,
    'batch.num.messages': 10_000,
    // Bounds memory in a 256 MB function: beyond this send() waits for deliveries before enqueuing more.
    'queue.buffering.max.messages': 100_000,
    'queue.buffering.max.kbytes': 65_536,
    // TCP keepalive (Linux's default: probes after 2 h idle) keeps long-lived idle connections alive
    // through NATs and load balancers; it does not spot a dead one quickly after a thaw — the
    // first request on it fails, and librdkafka reconnects.
    'socket.keepalive.enable': true,
    dr_cb: true,
  };
  if (config.securityProtocol === 'PLAINTEXT') return { ...common, 'security.protocol': 'plaintext' };
  return {
    ...common,
    'security.protocol': 'sasl_ssl',
    'sasl.mechanisms': config.saslMechanism,
    'sasl.username': config.username,
    'sasl.password': config.password,
    // The client's OpenSSL may come from another distribution than Lambda's (the layer ships its
    // own); probing finds Amazon Linux's CA bundle wherever OPENSSLDIR points.
    'ssl.ca.location': 'probe',
  };
}
