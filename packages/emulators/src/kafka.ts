import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { KafkaConsumer, Message } from '@confluentinc/kafka-javascript';

export interface KafkaEmulatorOptions {
  /** Brokers in the mock cluster (default 1); replication factor is min(3, brokers). */
  brokers?: number;
  /**
   * A round trip every request takes (librdkafka's `test.mock.broker.rtt`, default 0): a slow
   * broker, for tests whose outcome must not depend on how fast this machine is.
   */
  rttMs?: number;
}

export interface KafkaEmulator {
  /** Comma-separated HOST:PORT listeners (PLAINTEXT). */
  bootstrapServers: string;
  stop(): Promise<void>;
}

const BROKER_SCRIPT = fileURLToPath(new URL('./kafka-broker.cjs', import.meta.url));
const START_TIMEOUT_MS = 15_000;

/**
 * Starts librdkafka's mock cluster in a child process: a Kafka-protocol server (PLAINTEXT, no
 * auth) that any Kafka client can reach. Topics auto-create with 4 partitions on first use; there
 * is no admin API. Classic consumer groups wait ~3 s to join, so tests consume with
 * `group.protocol: consumer` or assigned partitions.
 */
export async function startKafka(options: KafkaEmulatorOptions = {}): Promise<KafkaEmulator> {
  const child: ChildProcess = fork(BROKER_SCRIPT, [JSON.stringify({ brokers: options.brokers ?? 1, rttMs: options.rttMs ?? 0 })], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      if (child.connected) child.disconnect();
      else child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    });
    return stopped;
  };
  try {
    const bootstrapServers = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`embedded Kafka did not announce its listeners within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      child.on('message', (m: { type: string; bootstrapServers?: string; message?: string }) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve(m.bootstrapServers as string);
        } else if (m.type === 'error') {
          clearTimeout(timer);
          reject(new Error(`embedded Kafka failed to start: ${m.message}`));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`embedded Kafka exited (${code}) before it was ready: ${stderr}`));
      });
    });
    return { bootstrapServers, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface ConsumedKafkaMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp?: number;
}

export interface ReadTopicOptions {
  /** Stop after this many messages; by default, read up to the high watermarks found at start. */
  count?: number;
  /** Fails when not done by then (default 10 s). */
  timeoutMs?: number;
}

type KafkaModule = { KafkaConsumer: typeof KafkaConsumer };
/** librdkafka's RD_KAFKA_OFFSET_BEGINNING. */
const OFFSET_BEGINNING = -2;

const call = <T>(fn: (cb: (err: unknown, value: T) => void) => void) =>
  new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));

/**
 * Reads a topic from the beginning of every partition with assigned partitions (no group join, so
 * no rebalance delay) — for tests and the local runner's summaries. Loaded lazily so importing this
 * package does not load the native Kafka client.
 */
export async function readKafkaTopic(
  bootstrapServers: string,
  topic: string,
  options: ReadTopicOptions = {},
): Promise<ConsumedKafkaMessage[]> {
  const Kafka = createRequire(import.meta.url)('@confluentinc/kafka-javascript') as KafkaModule;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  // Every request gets what is left of the one budget, so a slow or gone broker fails within it.
  const left = () => Math.max(1, deadline - Date.now());
  const consumer = new Kafka.KafkaConsumer(
    {
      'bootstrap.servers': bootstrapServers,
      'group.id': `laminar-read-${process.pid}-${Date.now()}`,
      'enable.auto.commit': false,
      'allow.auto.create.topics': false,
      'client.id': 'laminar-read-topic',
    },
    { 'auto.offset.reset': 'earliest' },
  );
  await call((cb) => consumer.connect({ timeout: left() }, cb));
  try {
    const metadata = await call<{ topics: { name: string; partitions: { id: number }[] }[] }>((cb) =>
      consumer.getMetadata({ topic, timeout: left() }, cb),
    );
    const partitions = metadata.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? [];
    let wanted = options.count;
    if (wanted === undefined) {
      wanted = 0;
      for (const partition of partitions) {
        const w = await call<{ highOffset: number; lowOffset: number }>((cb) =>
          consumer.queryWatermarkOffsets(topic, partition, left(), cb),
        );
        wanted += w.highOffset - w.lowOffset;
      }
    }
    consumer.assign(partitions.map((partition) => ({ topic, partition, offset: OFFSET_BEGINNING })));
    consumer.setDefaultConsumeTimeout(100);
    const out: ConsumedKafkaMessage[] = [];
    while (out.length < wanted) {
      if (Date.now() > deadline) {
        throw new Error(`read ${out.length} of ${wanted} messages from ${topic} within ${timeoutMs} ms`);
      }
      const batch = await call<Message[]>((cb) => consumer.consume(1000, cb));
      for (const m of batch) {
        const headers: Record<string, string> = {};
        for (const h of m.headers ?? []) for (const [k, v] of Object.entries(h)) headers[k] = v.toString();
        out.push({
          topic: m.topic,
          partition: m.partition,
          offset: m.offset,
          key: m.key == null ? null : m.key.toString(),
          value: m.value,
          headers,
          ...(m.timestamp === undefined ? {} : { timestamp: m.timestamp }),
        });
      }
    }
    return out;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
