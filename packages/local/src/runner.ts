import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join, relative } from 'node:path';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client, uploadRequestTimeoutMs } from '@laminar/aws';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { type FirehoseEmulator, type S3Emulator, startFirehose, startS3 } from '@laminar/emulators';
import {
  bucketsOf,
  type DeliveryStreamDecl,
  kafkaGroupStem,
  kafkaMappings,
  kafkaTriggersOf,
  findRoot,
  type LoadedSpec,
  layersFor,
  loadAllLayers,
  loadAllQueues,
  loadAllSpecs,
  type QueueSpec,
  type ResourceNamer,
  resolveEnv,
  resourceName,
  type TableKind,
  topicsOf,
} from '@laminar/spec';
import { AsyncInvoker, type AsyncSubmission, DEFAULT_RETRY_DELAY_SCALE } from './async.ts';
import { DEFAULT_FIXTURES_PORT, type FixtureServer, type FixtureSite, fixturesDir, localEnvOverrides, startFixtureServer, usesFixtures } from './fixtures.ts';
import { type AwsCredentials, type InvocationTrigger, type InvokerOptions, Invoker, UnknownFunctionError } from './invoker.ts';
import type { Output } from './output.ts';
import { KafkaEventSource, LOCAL_ON_DEMAND_CAP } from './kafka-source.ts';
import { LocalQueues, localDlqName } from './queues.ts';
import { describeRoute, type S3Route, s3Routes } from './s3-events.ts';
import { parseScale } from './args.ts';
import { S3EventRouter } from './s3-router.ts';
import { stateDirectory } from './state-directory.ts';
import { XRayDaemon } from './xray-daemon.ts';
import {
  ambientRegion,
  connectDynamo,
  connectKafka,
  type DynamoAccess,
  givenCredentials,
  type KafkaAccess,
  resolveDynamoTarget,
  resolveEndpoint,
  resolveKafkaTarget,
} from './services.ts';
export interface LocalOptions {
  /** Repository root; found from the current directory when absent. */
  root?: string;
  /** An S3-compatible endpoint, or "aws" for AWS itself; else LAMINAR_S3_ENDPOINT / AWS_ENDPOINT_URL_S3; else embedded. */
  s3Endpoint?: string;
  /** Data folder of the embedded S3; a temporary one (removed at stop) when absent. */
  s3Directory?: string;
  /** A DynamoDB endpoint, or "aws"; else LAMINAR_DYNAMODB_ENDPOINT / AWS_ENDPOINT_URL_DYNAMODB; else embedded. */
  dynamodbEndpoint?: string;
  /** LevelDB folder of the embedded DynamoDB (kept between runs); in memory when absent. */
  dynamodbDirectory?: string;
  /** A Kafka broker (HOST:PORT,...); else KAFKA_BOOTSTRAP_SERVERS; else the embedded mock cluster. */
  kafkaBootstrapServers?: string;
  /** No fixture server: functions keep the URLs of their spec, i.e. the live internet. */
  live?: boolean;
  /** Port of the fixture server (0: any). LAMINAR_FIXTURES_PORT, else 4599, kept stable across runs. */
  fixturesPort?: number;
  /** Only these functions (all when absent); each must exist and be built. */
  functions?: string[];
  output?: Output;
  /** Where endpoint settings and ambient credentials come from (process.env by default). */
  env?: NodeJS.ProcessEnv;
  /** Real bucket name = prefix + logical name. LAMINAR_BUCKET_PREFIX, else "laminar-local-". */
  bucketPrefix?: string;
  invoker?: Pick<InvokerOptions, 'timeoutMs' | 'initTimeoutMs' | 'maxConcurrency' | 'memorySampleMs'>;
  /** What outlives the process (state-directory.ts): `<root>/.laminar`, or LAMINAR_STATE_DIR, when absent. */
  stateDirectory?: string;
  /** Where local queues (DLQs, declared queues) keep their messages; `queues/` in the state directory when absent, in memory when false. */
  queuesDirectory?: string | false;
  /**
   * Local async retry waits, Kafka batching windows and retry waits, and Firehose buffering
   * intervals = Lambda's × this. LAMINAR_RETRY_DELAY_SCALE, else 1/60 (a minute lasts a second).
   */
  retryDelayScale?: number;
  /**
   * Start the functions' Kafka event source mappings (default true). `invoke` and `dlq replay` run
   * one invocation without them: a consumer of theirs would join `dev`'s consumer groups, take
   * partitions from it and archive and commit batches behind its back.
   */
  eventSources?: boolean;
  /** Deliver every S3 event twice, as EventBridge's at-least-once delivery may. */
  duplicateEvents?: boolean;
  /** Collect the functions' X-Ray segments (default true; LAMINAR_TRACING=off turns it off). */
  tracing?: boolean;
}

export interface S3Access {
  /** Undefined when talking to AWS itself. */
  endpoint: string | undefined;
  region: string;
  credentials: AwsCredentials;
  forcePathStyle: boolean;
  client: S3Client;
  /** The embedded emulator, when the runner started one. */
  embedded: S3Emulator | undefined;
  description: string;
}

export interface Local {
  root: string;
  /** The functions this runner serves. */
  specs: LoadedSpec[];
  /** Region and credentials the functions get (an external service's ambient ones, else the emulators'). */
  region: string;
  credentials: AwsCredentials;
  /** Each service is started only when a function needs it. */
  s3: S3Access | undefined;
  dynamodb: DynamoAccess | undefined;
  kafka: KafkaAccess | undefined;
  /** The local Firehose endpoint; present when a function declares a delivery stream. */
  firehose: FirehoseEmulator | undefined;
  /** Logical delivery stream → real name. */
  deliveryStreams: Record<string, string>;
  /** One per Kafka trigger: the runner's event source mappings. */
  kafkaSources: KafkaEventSource[];
  /** The X-Ray collector the functions send their segments to; absent with tracing off. */
  xray: XRayDaemon | undefined;
  /** The HTTP fixture server; absent with `live` or when no function has fixtures. */
  fixtures: FixtureServer | undefined;
  /** One line per service, for headers. */
  services: string[];
  /** Logical bucket → real bucket name. */
  buckets: Record<string, string>;
  bucket(logical: string): string;
  /** Logical table → real table name. */
  tables: Record<string, string>;
  /** Logical topic → real topic name. */
  topics: Record<string, string>;
  /** Each function's resolved environment (spec env, local overrides), as given to the invoker. */
  env: Record<string, Record<string, string>>;
  invoker: Invoker;
  invoke: Invoker['invoke'];
  /** Lambda's async path (retries, destinations): S3 events and schedules invoke through it. */
  asyncInvoker: AsyncInvoker;
  /** Submits an asynchronous (Event) invocation; its outcome settles after any retries. */
  invokeAsync(functionName: string, event: unknown, options?: { trigger?: InvocationTrigger }): AsyncSubmission;
  /** Declared queues (queues/<name>.ts) and the functions' DLQs. */
  queues: LocalQueues;
  queueSpecs: QueueSpec[];
  /** One EventBridge rule per S3 pattern, with its targets (as infra groups them). */
  s3Routes: S3Route[];
  /** Delivers the embedded S3's events; undefined with an external S3 (its events never reach the runner). */
  s3Events: S3EventRouter | undefined;
  /**
   * Resolves when everything started so far is done: every S3 event of an answered request
   * delivered, every async invocation settled (retries included), and whatever those wrote
   * delivered and settled in turn.
   */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

export type S3Target =
  | { kind: 'embedded' }
  | { kind: 'external'; endpoint: string | undefined; forcePathStyle: boolean; source: string };

export class MissingBuildError extends Error {
  override name = 'MissingBuildError';
}

/**
 * Embedded unless an endpoint is configured, so pointing the runner at another emulator or at AWS
 * is configuration, not code. "aws" means AWS's own endpoints.
 */
export function resolveS3Target(explicit: string | undefined, env: NodeJS.ProcessEnv): S3Target {
  const target = resolveEndpoint([
    ['s3Endpoint option', explicit],
    ['LAMINAR_S3_ENDPOINT', env.LAMINAR_S3_ENDPOINT],
    ['AWS_ENDPOINT_URL_S3', env.AWS_ENDPOINT_URL_S3],
  ]);
  if (target.kind === 'embedded') return target;
  if (target.endpoint === undefined) return { ...target, forcePathStyle: false };
  // Emulators rarely serve virtual-hosted buckets; path style is the safe default for them.
  const forcePathStyle = env.LAMINAR_S3_FORCE_PATH_STYLE !== undefined ? env.LAMINAR_S3_FORCE_PATH_STYLE === 'true' : true;
  return { kind: 'external', endpoint: target.endpoint, forcePathStyle, source: target.source };
}

export function localBucketName(logical: string, prefix = 'laminar-local-'): string {
  return `${prefix}${logical}`;
}

export function retryDelayScale(explicit: number | undefined, env: NodeJS.ProcessEnv): number {
  if (explicit !== undefined) return explicit;
  const raw = env.LAMINAR_RETRY_DELAY_SCALE;
  if (raw === undefined || raw.trim() === '') return DEFAULT_RETRY_DELAY_SCALE;
  return parseScale(raw, 'LAMINAR_RETRY_DELAY_SCALE');
}

function fixturesPort(explicit: number | undefined, env: NodeJS.ProcessEnv): number {
  if (explicit !== undefined) return explicit;
  const raw = env.LAMINAR_FIXTURES_PORT;
  if (raw === undefined || raw.trim() === '') return DEFAULT_FIXTURES_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`LAMINAR_FIXTURES_PORT="${raw}" is not a port number`);
  return port;
}

/** What the chosen functions need started. */
export interface Needs {
  buckets: string[];
  tables: Record<string, TableKind>;
  topics: string[];
  kafka: boolean;
  /** Functions whose fixtures the server serves (a fixtures/http folder or "{fixtures}" in local env). */
  fixtureSites: FixtureSite[];
  deliveryStreams: DeliveryStreamDecl[];
}

export function needsOf(specs: LoadedSpec[], live: boolean): Needs {
  const buckets = new Set<string>();
  const tables: Record<string, TableKind> = {};
  const topics = new Set<string>();
  let kafka = false;
  const fixtureSites: FixtureSite[] = [];
  const deliveryStreams: DeliveryStreamDecl[] = [];
  for (const { spec, dir } of specs) {
    deliveryStreams.push(...spec.deliveryStreams);
    for (const b of bucketsOf(spec)) buckets.add(b);
    for (const t of spec.tables) tables[t.name] = t.kind;
    for (const t of topicsOf(spec)) topics.add(t);
    if (Object.values(spec.env).some((v) => typeof v !== 'string' && 'setting' in v.ref && v.ref.setting === 'kafkaBootstrapServers')) {
      kafka = true;
    }
    const site = fixturesDir(dir);
    if (!live && (existsSync(site) || usesFixtures(spec))) fixtureSites.push({ functionName: spec.name, dir: site });
  }
  if (topics.size) kafka = true;
  return { buckets: [...buckets].sort(), tables, topics: [...topics].sort(), kafka, fixtureSites, deliveryStreams };
}

/** Starts every service in parallel; if one fails, the others are stopped again. */
async function startAll<T extends unknown[]>(starts: { [K in keyof T]: Promise<T[K]> }, stops: { [K in keyof T]: (v: T[K]) => Promise<void> }): Promise<T> {
  const settled = await Promise.allSettled(starts as unknown as Promise<unknown>[]);
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled(
      settled.map((r, i) => (r.status === 'fulfilled' ? (stops[i] as (v: unknown) => Promise<void>)(r.value) : Promise.resolve())),
    );
    throw (failed as PromiseRejectedResult).reason;
  }
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as T;
}

export async function startLocal(options: LocalOptions = {}): Promise<Local> {
  const env = options.env ?? process.env;
  const root = options.root ?? findRoot();
  const state = options.stateDirectory ?? stateDirectory(root, env);
  const all = await loadAllSpecs(root);
  const known = all.map((l) => l.spec.name);
  for (const name of options.functions ?? []) {
    if (!known.includes(name)) throw new UnknownFunctionError(name, known);
  }
  const specs = options.functions ? all.filter((l) => options.functions?.includes(l.spec.name)) : all;
  const allLayers = specs.some((l) => l.spec.layers.length) ? await loadAllLayers(root) : [];
  const queueSpecs = await loadAllQueues(root);
  const delayScale = retryDelayScale(options.retryDelayScale, env);
  const layersOf = new Map(specs.map((l) => [l.spec.name, layersFor(l.spec, allLayers)]));
  const missing = [
    ...specs.filter((l) => !existsSync(l.zipPath)).map((l) => l.zipPath),
    ...new Set([...layersOf.values()].flat().filter((l) => !existsSync(l.zipPath)).map((l) => l.zipPath)),
  ];
  if (missing.length) {
    const list = missing.map((p) => `  ${relative(root, p)}`).join('\n');
    throw new MissingBuildError(`not built:\n${list}\nrun pnpm build (or pnpm dev / pnpm invoke, which build first)`);
  }

  const live = options.live ?? false;
  const needs = needsOf(specs, live);
  const prefix = options.bucketPrefix ?? env.LAMINAR_BUCKET_PREFIX ?? 'laminar-local-';
  const buckets: Record<string, string> = {};
  for (const b of needs.buckets) buckets[b] = localBucketName(b, prefix);
  const bucket = (logical: string): string => {
    const name = buckets[logical];
    if (!name) throw new Error(`no function uses bucket "${logical}" (known: ${Object.keys(buckets).join(', ') || 'none'})`);
    return name;
  };
  const tablePrefix = env.LAMINAR_TABLE_PREFIX ?? 'laminar-local-';
  const tables: Record<string, string> = {};
  const realTables: Record<string, TableKind> = {};
  for (const [name, kind] of Object.entries(needs.tables)) {
    tables[name] = `${tablePrefix}${name}`;
    realTables[`${tablePrefix}${name}`] = kind;
  }
  const topics: Record<string, string> = {};
  for (const t of needs.topics) topics[t] = `local.${t}`;

  const [s3, dynamodb, kafka, fixtures] = await startAll<
    [S3Access | undefined, DynamoAccess | undefined, KafkaAccess | undefined, FixtureServer | undefined]
  >(
    [
      needs.buckets.length ? connectS3(resolveS3Target(options.s3Endpoint, env), env, Object.values(buckets), options.s3Directory) : Promise.resolve(undefined),
      Object.keys(realTables).length
        ? connectDynamo(resolveDynamoTarget(options.dynamodbEndpoint, env), env, realTables, options.dynamodbDirectory)
        : Promise.resolve(undefined),
      needs.kafka ? connectKafka(resolveKafkaTarget(options.kafkaBootstrapServers, env)) : Promise.resolve(undefined),
      needs.fixtureSites.length ? startFixtureServer(needs.fixtureSites, fixturesPort(options.fixturesPort, env)) : Promise.resolve(undefined),
    ],
    [
      async (v) => {
        v?.client.destroy();
        await v?.embedded?.stop();
      },
      async (v) => {
        v?.client.destroy();
        await v?.embedded?.stop();
      },
      async (v) => v?.embedded?.stop(),
      async (v) => v?.stop(),
    ],
  );
  const deliveryStreams: Record<string, string> = {};
  for (const d of needs.deliveryStreams) deliveryStreams[d.name] = resourceName('local', d.name);
  let firehose: FirehoseEmulator | undefined;
  const tracing = options.tracing ?? env.LAMINAR_TRACING !== 'off';
  const xray = tracing ? await XRayDaemon.start() : undefined;
  const kafkaSources: KafkaEventSource[] = [];
  const stopServices = async () => {
    await Promise.allSettled(kafkaSources.map((k) => k.stop()));
    // Firehose flushes what it buffered into S3 before S3 goes away.
    await firehose?.stop().catch(() => {});
    await xray?.stop();
    s3?.client.destroy();
    dynamodb?.client.destroy();
    await Promise.allSettled([s3?.embedded?.stop(), dynamodb?.embedded?.stop(), kafka?.embedded?.stop(), fixtures?.stop()]);
  };

  try {
    const namer: ResourceNamer = {
      bucket,
      table: (logical) => {
        const name = tables[logical];
        if (!name) throw new Error(`table "${logical}" is not declared in tables`);
        return name;
      },
      topic: (logical) => topics[logical] ?? `local.${logical}`,
      deliveryStream: (logical) => {
        const name = deliveryStreams[logical];
        if (!name) throw new Error(`delivery stream "${logical}" is not declared by any function`);
        return name;
      },
      setting: (name) => {
        if (name === 'kafkaBootstrapServers' && kafka) return kafka.bootstrapServers;
        throw new Error(`setting "${name}" has no local value`);
      },
    };
    // A function has one set of keys, as a Lambda role does: an external service's real keys when
    // there is one, which the embedded S3 is then told to accept too (the other emulators check
    // none); without one, the embedded emulators' own.
    const external = (s3 && !s3.embedded ? s3 : undefined) ?? (dynamodb && !dynamodb.embedded ? dynamodb : undefined);
    const credentials: AwsCredentials = external?.credentials ??
      s3?.credentials ??
      dynamodb?.embedded?.credentials ?? { accessKeyId: 'LAMINAR', secretAccessKey: 'LAMINAR' };
    if (s3?.embedded && credentials.accessKeyId !== s3.credentials.accessKeyId) await s3.embedded.acceptCredentials(credentials);
    const region = external?.region ?? s3?.region ?? dynamodb?.region ?? ambientRegion(env);

    if (needs.deliveryStreams.length) {
      const client = s3?.client;
      if (!client) throw new Error('a delivery stream needs S3 to deliver to');
      firehose = await startFirehose({
        streams: needs.deliveryStreams.map((d) => ({
          name: deliveryStreams[d.name] as string,
          bucket: bucket(d.bucket),
          prefix: d.prefix,
          errorOutputPrefix: d.errorOutputPrefix,
          bufferingSizeMb: d.buffering.sizeMb,
          bufferingIntervalS: d.buffering.intervalS,
        })),
        deliver: async (b, key, body) => {
          // One request for the whole buffer (up to 128 MB), given the time such a body needs.
          await client.send(new PutObjectCommand({ Bucket: b, Key: key, Body: body }), { requestTimeout: uploadRequestTimeoutMs(body.length) });
        },
        // Buffering intervals pass at the speed of retry waits: a minute lasts a second by default.
        intervalScale: delayScale,
      });
      firehose.on('error', (e) => options.output?.line('firehose', `${e.message}`));
    }

    const envs: Record<string, Record<string, string>> = {};
    for (const { spec } of specs) {
      envs[spec.name] = { ...resolveEnv(spec, namer), ...localEnvOverrides(spec, fixtures?.baseFor(spec.name)) };
    }
    const services = [
      s3?.description,
      dynamodb && `${dynamodb.description}; tables ${Object.entries(tables).map(([l, r]) => `${l} → ${r}`).join(', ')}`,
      kafka && `${kafka.description}${needs.topics.length ? `; topics ${Object.entries(topics).map(([l, r]) => `${l} → ${r}`).join(', ')}` : ''}`,
      fixtures &&
        `HTTP fixtures at ${fixtures.url} (${Object.entries(fixtures.files).map(([f, n]) => `${f}: ${n} files under /${f}/`).join(', ')})${
          fixtures.warning ? ` — ${fixtures.warning}` : ''
        }`,
      firehose &&
        `Firehose endpoint at ${firehose.endpoint}: ${needs.deliveryStreams
          .map((d) => `${deliveryStreams[d.name]} → s3://${bucket(d.bucket)}/${d.prefix} (buffer ${d.buffering.sizeMb} MB or ${d.buffering.intervalS} s, locally ${formatSeconds(d.buffering.intervalS * delayScale)})`)
          .join('; ')}`,
      live ? 'live: no fixture server, functions fetch their spec URLs from the internet' : undefined,
    ].filter((l): l is string => Boolean(l));

    const invoker = new Invoker({
      root,
      stateDirectory: state,
      functions: specs.map((l) => ({
        spec: l.spec,
        zipPath: l.zipPath,
        env: envs[l.spec.name] as Record<string, string>,
        layers: (layersOf.get(l.spec.name) ?? []).map((x) => ({ name: x.spec.name, zipPath: x.zipPath })),
        sourceDir: l.dir,
      })),
      region,
      credentials,
      serviceEnv: {
        ...(s3?.endpoint ? { AWS_ENDPOINT_URL_S3: s3.endpoint, LAMINAR_S3_FORCE_PATH_STYLE: String(s3.forcePathStyle) } : {}),
        ...(dynamodb?.endpoint ? { AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint } : {}),
        ...(firehose ? { AWS_ENDPOINT_URL_FIREHOSE: firehose.endpoint } : {}),
      },
      ...(options.output ? { output: options.output } : {}),
      ...(xray ? { xrayDaemonAddress: xray.address } : {}),
      ...options.invoker,
    });
    const queues = new LocalQueues(options.queuesDirectory === false ? undefined : (options.queuesDirectory ?? join(state, 'queues')));
    const asyncInvoker = new AsyncInvoker({
      invoker,
      functions: specs.map((l) => l.spec),
      queues,
      region,
      retryDelayScale: delayScale,
      ...(options.invoker?.maxConcurrency ? { maxConcurrency: options.invoker.maxConcurrency } : {}),
      ...(options.output ? { output: options.output } : {}),
    });
    const routes = s3Routes(
      specs.map((l) => ({ name: l.spec.name, triggers: l.spec.triggers })),
      queueSpecs,
      (logical) => buckets[logical],
    );
    const s3Events = s3?.embedded && routes.length
      ? new S3EventRouter({
          source: s3.embedded.events,
          routes,
          asyncInvoker,
          queues,
          region,
          duplicateEvents: options.duplicateEvents ?? false,
          ...(options.output ? { output: options.output } : {}),
        })
      : undefined;
    if (routes.length) {
      services.push(
        s3Events
          ? `S3 → EventBridge: ${routes.length} rule${routes.length === 1 ? '' : 's'} (${routes
              .map((r) => `${describeRoute(r)} → ${[...r.functions, ...r.queues.map((q) => `queue ${q}`)].join(', ')}`)
              .join('; ')})${options.duplicateEvents ? ', every event delivered twice' : ''}`
          : `S3 events are not emitted locally: ${s3?.description ?? 'no S3'} sends its own notifications (if any) elsewhere; ${routes.length} S3 rule${routes.length === 1 ? '' : 's'} stay idle`,
      );
    }
    for (const { spec } of options.eventSources === false ? [] : specs) {
      for (const [k, trigger] of kafkaTriggersOf(spec).entries()) {
        if (!kafka) throw new Error(`${spec.name} has a Kafka trigger but no Kafka was started`);
        const dlq = localDlqName(spec.name);
        queues.declare(dlq, 'dlq', spec.name);
        // One mapping per topic, each with a consumer group of its own, as infra creates them (AWS
        // takes one topic per event source mapping): a batch never mixes topics, here as there.
        const mappings = kafkaMappings(
          resourceName('local', kafkaGroupStem(spec.name, k), 255),
          trigger.topics.map((t) => namer.topic(t)),
        );
        for (const { topic, consumerGroupId } of mappings) {
          const source = new KafkaEventSource({
            functionName: spec.name,
            trigger,
            topics: [topic],
            groupId: consumerGroupId,
            bootstrapServers: kafka.bootstrapServers,
            // The consumer's group protocol follows the broker (kafkaConsumerConfig); so does topic
            // creation: Lambda's mapping creates no topic, only the embedded broker, which starts
            // empty, has the mapping's topics made for it.
            broker: kafka.embedded ? 'embedded' : 'external',
            invoker,
            queues,
            dlq,
            region,
            timeScale: delayScale,
            ...(options.output ? { output: options.output } : {}),
          });
          kafkaSources.push(source);
          await source.start();
          services.push(
            `Kafka → ${spec.name}: event source mapping on ${topic} (group ${source.groupId}, batch ≤ ${trigger.batchSize}, window ${trigger.batchingWindowS} s, locally ${formatSeconds(trigger.batchingWindowS * delayScale)}; ${
              trigger.provisioned
                ? `${trigger.maxRetries ?? 0} retries`
                : `on demand: retried until the records expire (or ${LOCAL_ON_DEMAND_CAP}, if AWS caps it as it does provisioned mappings with a destination), locally ${LOCAL_ON_DEMAND_CAP}`
            }, then ${dlq})`,
          );
        }
      }
    }
    const settle = async () => {
      for (;;) {
        await s3?.embedded?.flushEvents();
        await asyncInvoker.idle();
        // Batches of what the producers wrote, then what those batches wrote in turn.
        // A mapping behind with nothing consumed for this long is stuck (a healthy one polls every
        // 100 ms): settle fails saying where, rather than waiting forever.
        await Promise.all(kafkaSources.map((k) => k.idle({ stallMs: 45_000 })));
        // What the functions wrote may have emitted events of its own.
        await s3?.embedded?.flushEvents();
        if (asyncInvoker.pending === 0) return;
      }
    };
    let stopped: Promise<void> | undefined;
    return {
      root,
      specs,
      region,
      credentials,
      s3,
      dynamodb,
      kafka,
      fixtures,
      firehose,
      deliveryStreams,
      kafkaSources,
      xray,
      services,
      buckets,
      bucket,
      tables,
      topics,
      env: envs,
      invoker,
      invoke: (name, event, opts) => invoker.invoke(name, event, opts),
      asyncInvoker,
      invokeAsync: (name, event, opts) => asyncInvoker.submit(name, event, opts),
      queues,
      queueSpecs,
      s3Routes: routes,
      s3Events,
      settle,
      stop() {
        stopped ??= (async () => {
          asyncInvoker.stop();
          // Nothing writes once the mappings and the environments are stopped: an attempt that
          // outlasted dev's grace after Ctrl-C is killed here, before the router lets go, so no
          // object it writes meanwhile has an event with nobody listening.
          await Promise.allSettled(kafkaSources.map((k) => k.stop()));
          await invoker.stop();
          // Writes already answered may have events still on their way from the emulator: routed
          // before the router lets go, they reach their queues and end in the DLQs as Interrupted
          // instead of being lost. Bounded: an emulator that no longer answers must not hold the stop.
          if (s3Events) await Promise.race([s3?.embedded?.flushEvents(), sleep(STOP_FLUSH_MS, undefined, { ref: false })]);
          s3Events?.stop();
          await stopServices();
        })();
        return stopped;
      },
    };
  } catch (err) {
    await stopServices();
    throw err;
  }
}

/** The longest the stop waits for the embedded S3's events still in flight. */
const STOP_FLUSH_MS = 2_000;

async function connectS3(target: S3Target, env: NodeJS.ProcessEnv, buckets: string[], directory?: string): Promise<S3Access> {
  if (target.kind === 'embedded') {
    const embedded = await startS3({ buckets, ...(directory ? { directory } : {}) });
    const credentials = { ...embedded.credentials };
    const client = createS3Client({ region: embedded.region, endpoint: embedded.endpoint, forcePathStyle: true, credentials });
    return {
      endpoint: embedded.endpoint,
      region: embedded.region,
      credentials,
      forcePathStyle: true,
      client,
      embedded,
      description: `embedded S3 at ${embedded.endpoint} (data: ${embedded.directory})`,
    };
  }
  const region = ambientRegion(env);
  // Keys in the given environment first; else the SDK's own chain (profile, SSO...). The functions
  // get the resolved keys, as Lambda hands its role's keys to the runtime.
  const given = givenCredentials(env);
  const client = createS3Client({
    region,
    endpoint: target.endpoint,
    forcePathStyle: target.forcePathStyle,
    ...(given ? { credentials: given } : {}),
  });
  let credentials: AwsCredentials;
  try {
    const identity = given ?? (await client.config.credentials());
    credentials = { accessKeyId: identity.accessKeyId, secretAccessKey: identity.secretAccessKey, sessionToken: identity.sessionToken };
  } catch (err) {
    client.destroy();
    throw new Error(
      `no credentials for S3 at ${target.endpoint ?? 'AWS'} (from ${target.source}): set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE (${(err as Error).message})`,
    );
  }
  for (const name of buckets) {
    try {
      await client.send(
        new CreateBucketCommand({
          Bucket: name,
          ...(target.endpoint === undefined && region !== 'us-east-1'
            ? { CreateBucketConfiguration: { LocationConstraint: region as never } }
            : {}),
        }),
      );
    } catch (err) {
      const code = (err as { name?: string }).name;
      if (code === 'BucketAlreadyOwnedByYou') continue;
      if (code === 'BucketAlreadyExists' && target.endpoint !== undefined) continue;
      client.destroy();
      throw new Error(
        `cannot create bucket ${name} at ${target.endpoint ?? 'AWS'}: ${(err as Error).message}` +
          (code === 'BucketAlreadyExists' ? ' (someone else owns it: set LAMINAR_BUCKET_PREFIX)' : ''),
      );
    }
  }
  return {
    endpoint: target.endpoint,
    region,
    credentials,
    forcePathStyle: target.forcePathStyle,
    client,
    embedded: undefined,
    description: `S3 at ${target.endpoint ?? `AWS (${region})`} (from ${target.source})`,
  };
}

function formatSeconds(s: number): string {
  return s >= 1 ? `${Number(s.toFixed(1))} s` : `${Math.round(s * 1000)} ms`;
}
