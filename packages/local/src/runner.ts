import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '@laminar/aws';
import { type S3Emulator, startS3 } from '@laminar/emulators';
import { bucketsOf, findRoot, type LoadedSpec, loadAllSpecs, type ResourceNamer, resolveEnv } from '@laminar/spec';
import { type AwsCredentials, type InvokerOptions, Invoker, UnknownFunctionError } from './invoker.ts';
import type { Output } from './output.ts';

export interface LocalOptions {
  /** Repository root; found from the current directory when absent. */
  root?: string;
  /** An S3-compatible endpoint, or "aws" for AWS itself; else LAMINAR_S3_ENDPOINT / AWS_ENDPOINT_URL_S3; else embedded. */
  s3Endpoint?: string;
  /** Data folder of the embedded S3; a temporary one (removed at stop) when absent. */
  s3Directory?: string;
  /** Only these functions (all when absent); each must exist and be built. */
  functions?: string[];
  output?: Output;
  /** Where endpoint settings and ambient credentials come from (process.env by default). */
  env?: NodeJS.ProcessEnv;
  /** Real bucket name = prefix + logical name. LAMINAR_BUCKET_PREFIX, else "laminar-local-". */
  bucketPrefix?: string;
  invoker?: Pick<InvokerOptions, 'timeoutMs' | 'initTimeoutMs' | 'maxConcurrency' | 'memorySampleMs'>;
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
  s3: S3Access;
  /** Logical bucket → real bucket name. */
  buckets: Record<string, string>;
  bucket(logical: string): string;
  invoker: Invoker;
  invoke: Invoker['invoke'];
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
  const candidates: [string, string | undefined][] = [
    ['s3Endpoint option', explicit],
    ['LAMINAR_S3_ENDPOINT', env.LAMINAR_S3_ENDPOINT],
    ['AWS_ENDPOINT_URL_S3', env.AWS_ENDPOINT_URL_S3],
  ];
  const found = candidates.find(([, v]) => v !== undefined && v.trim() !== '');
  if (!found) return { kind: 'embedded' };
  const [source, raw] = found as [string, string];
  const value = raw.trim();
  if (value.toLowerCase() === 'aws') return { kind: 'external', endpoint: undefined, forcePathStyle: false, source };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${source}="${value}" is not a URL (or "aws")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${source}="${value}" must be http(s)`);
  // Emulators rarely serve virtual-hosted buckets; path style is the safe default for them.
  const forcePathStyle = env.LAMINAR_S3_FORCE_PATH_STYLE !== undefined ? env.LAMINAR_S3_FORCE_PATH_STYLE === 'true' : true;
  return { kind: 'external', endpoint: value.replace(/\/+$/, ''), forcePathStyle, source };
}

export function localBucketName(logical: string, prefix = 'laminar-local-'): string {
  return `${prefix}${logical}`;
}

export async function startLocal(options: LocalOptions = {}): Promise<Local> {
  const env = options.env ?? process.env;
  const root = options.root ?? findRoot();
  const all = await loadAllSpecs(root);
  const known = all.map((l) => l.spec.name);
  for (const name of options.functions ?? []) {
    if (!known.includes(name)) throw new UnknownFunctionError(name, known);
  }
  const specs = options.functions ? all.filter((l) => options.functions?.includes(l.spec.name)) : all;
  const missing = specs.filter((l) => !existsSync(l.zipPath));
  if (missing.length) {
    const list = missing.map((l) => `  ${relative(root, l.zipPath)}`).join('\n');
    throw new MissingBuildError(`not built:\n${list}\nrun pnpm build (or pnpm dev / pnpm invoke, which build first)`);
  }

  const prefix = options.bucketPrefix ?? env.LAMINAR_BUCKET_PREFIX ?? 'laminar-local-';
  const buckets: Record<string, string> = {};
  for (const l of all) for (const b of bucketsOf(l.spec)) buckets[b] = localBucketName(b, prefix);
  const bucket = (logical: string): string => {
    const name = buckets[logical];
    if (!name) throw new Error(`no function uses bucket "${logical}" (known: ${Object.keys(buckets).join(', ') || 'none'})`);
    return name;
  };
  const namer: ResourceNamer = {
    bucket,
    table: (logical) => `laminar-local-${logical}`,
    topic: (logical) => `local.${logical}`,
    setting: (name) => {
      throw new Error(`setting "${name}" has no local value yet`);
    },
  };

  const s3 = await connectS3(resolveS3Target(options.s3Endpoint, env), env, Object.values(buckets), options.s3Directory);
  try {
    const invoker = new Invoker({
      root,
      functions: specs.map((l) => ({ spec: l.spec, zipPath: l.zipPath, env: resolveEnv(l.spec, namer) })),
      region: s3.region,
      credentials: s3.credentials,
      serviceEnv: s3.endpoint
        ? { AWS_ENDPOINT_URL_S3: s3.endpoint, LAMINAR_S3_FORCE_PATH_STYLE: String(s3.forcePathStyle) }
        : {},
      ...(options.output ? { output: options.output } : {}),
      ...options.invoker,
    });
    let stopped: Promise<void> | undefined;
    return {
      root,
      specs,
      s3,
      buckets,
      bucket,
      invoker,
      invoke: (name, event, opts) => invoker.invoke(name, event, opts),
      stop() {
        stopped ??= (async () => {
          await invoker.stop();
          s3.client.destroy();
          await s3.embedded?.stop();
        })();
        return stopped;
      },
    };
  } catch (err) {
    s3.client.destroy();
    await s3.embedded?.stop();
    throw err;
  }
}

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
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  // Keys in the given environment first; else the SDK's own chain (profile, SSO...). The functions
  // get the resolved keys, as Lambda hands its role's keys to the runtime.
  const given: AwsCredentials | undefined =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN }
      : undefined;
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
