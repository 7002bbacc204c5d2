import type { FunctionSpecInput } from '@laminar/spec';

/**
 * What every Kafka-producing function's spec shares: the layer with the native client (built for
 * x86_64), the connection settings, the credentials secret by reference and the local override to
 * PLAINTEXT. Pure data, so specs can spread it without loading the client.
 */
export function kafkaProducerSpec(options: { clientId: string; topic: string }) {
  return {
    // The layer's addon is compiled for Node 22 (NODE_MODULE_VERSION 127), the layer's one runtime:
    // another major refuses to load it, and the spec check refuses a function on another runtime.
    runtime: 'nodejs22.x',
    architecture: 'x86_64',
    layers: ['kafka-layer'],
    env: {
      KAFKA_TOPIC: { ref: { topic: options.topic } },
      KAFKA_BOOTSTRAP_SERVERS: { ref: { setting: 'kafkaBootstrapServers' } },
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'PLAIN',
      KAFKA_CLIENT_ID: options.clientId,
    },
    secrets: [{ name: 'KAFKA_CREDENTIALS_SECRET_ARN', from: 'secretsmanager', id: 'kafka-credentials' }],
    localEnv: { KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT' },
  } as const satisfies Pick<FunctionSpecInput, 'runtime' | 'architecture' | 'layers' | 'env' | 'secrets'> & { localEnv: Record<string, string> };
}
