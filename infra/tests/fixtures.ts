import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  artifactPaths,
  defineFunction,
  type FunctionSpec,
  type LoadedLayer,
  type LoadedSpec,
  loadAllLayers,
  loadAllQueues,
  loadSpec,
  type QueueSpec,
} from '@laminar/spec';
import { buildApp } from '../src/app.ts';
import type { AppSettings } from '../src/config.ts';
import { REPO_ROOT, TEST_TMP } from './paths.ts';

export { INFRA, REPO_ROOT, TEST_TMP } from './paths.ts';

/** A spec exercising what pdf-manifest does not: schedules, async with a DLQ, a second bucket. */
export const nightlyReport = defineFunction({
  name: 'nightly-report',
  memoryMb: 512,
  timeoutS: 60,
  architecture: 'x86_64',
  runtime: 'nodejs22.x',
  env: { REPORTS_BUCKET: { ref: { bucket: 'reports' } } },
  triggers: [
    { kind: 'schedule', expression: 'cron(0 2 * * ? *)', input: { scope: 'daily' } },
    { kind: 'schedule', expression: 'rate(1 hour)' },
  ],
  permissions: [
    { actions: ['s3:ListBucket'], resource: { bucket: 'documents', prefix: 'incoming/*' } },
    { actions: ['s3:GetObject'], resource: { bucket: 'documents', prefix: 'incoming/*' } },
    { actions: ['s3:PutObject'], resource: { bucket: 'reports', prefix: 'daily/*' } },
  ],
  async: { maxRetries: 1, maxEventAgeS: 600, onFailure: 'dlq' },
  logRetentionDays: 14,
});

/**
 * A throw-away repository root under infra/.tmp/test holding functions/<name>/dist/<name>.zip(+.sha256)
 * and infra/cdktf.out, so relative artifact paths resolve exactly as in the real repo and tests
 * never depend on a built function.
 */
export function fakeRoot(): string {
  mkdirSync(TEST_TMP, { recursive: true });
  return mkdtempSync(join(TEST_TMP, 'root-'));
}

export function fakeArtifact(root: string, spec: FunctionSpec, dir = join(root, 'functions', spec.name)): LoadedSpec {
  const paths = artifactPaths(dir, spec.name);
  mkdirSync(join(dir, 'dist'), { recursive: true });
  const zip = Buffer.from(`fake zip for ${spec.name}`);
  writeFileSync(paths.zipPath, zip);
  writeFileSync(paths.hashPath, `${createHash('sha256').update(zip).digest('base64')}\n`);
  return { spec, dir, ...paths };
}

/** The real pdf-manifest spec, with its artifact paths moved into the fake root. */
export async function pdfManifest(root: string): Promise<LoadedSpec> {
  const real = await loadSpec(join(REPO_ROOT, 'functions', 'pdf-manifest'));
  return fakeArtifact(root, real.spec);
}

/** The real Kafka producers' specs and the real kafka-layer spec, with fake artifacts in the fake root. */
export async function producers(root: string): Promise<{ specs: LoadedSpec[]; layers: LoadedLayer[] }> {
  const specs = await Promise.all(
    ['rss-producer', 'polymarket-producer'].map(async (name) => fakeArtifact(root, (await loadSpec(join(REPO_ROOT, 'functions', name))).spec)),
  );
  const layers = (await loadAllLayers(REPO_ROOT)).map((layer) => {
    const dir = join(root, 'layers', layer.spec.name);
    const zipPath = join(dir, 'dist', `${layer.spec.name}.zip`);
    const hashPath = `${zipPath}.sha256`;
    mkdirSync(join(dir, 'dist'), { recursive: true });
    const zip = Buffer.from(`fake layer ${layer.spec.name}`);
    writeFileSync(zipPath, zip);
    writeFileSync(hashPath, `${createHash('sha256').update(zip).digest('base64')}\n`);
    return { spec: layer.spec, dir, zipPath, hashPath };
  });
  return { specs, layers };
}

/** The real bronze → silver specs (csv-validator, object-audit) and the queues/ declarations. */
export async function lake(root: string): Promise<{ specs: LoadedSpec[]; queues: QueueSpec[] }> {
  const specs = await Promise.all(
    ['csv-validator', 'object-audit'].map(async (name) => fakeArtifact(root, (await loadSpec(join(REPO_ROOT, 'functions', name))).spec)),
  );
  return { specs, queues: await loadAllQueues(REPO_ROOT) };
}

/** Real specs by function name, with fake artifacts in the fake root. */
export async function realSpecs(root: string, names: readonly string[]): Promise<LoadedSpec[]> {
  return Promise.all(names.map(async (name) => fakeArtifact(root, (await loadSpec(join(REPO_ROOT, 'functions', name))).spec)));
}

/** The Firehose producer (store-inventory) and the Kafka consumer (kafka-archiver). */
export async function streams(root: string): Promise<LoadedSpec[]> {
  return realSpecs(root, ['kafka-archiver', 'store-inventory']);
}

export const defaultSettings: AppSettings = {
  stages: ['dev'],
  region: 'eu-west-1',
  gitSha: 'local',
  backend: { kind: 'local' },
};

export interface Synthesized {
  outdir: string;
  stackDir: (stack: string) => string;
  /** Parsed cdk.tf.json per stack. */
  json: (stack: string) => StackJson;
  raw: (stack: string) => string;
}

export type StackJson = {
  terraform: { backend: Record<string, Record<string, unknown>> };
  provider: { aws: Array<Record<string, unknown>> };
  resource: Record<string, Record<string, Record<string, unknown>>>;
};

/** The repository's queues/ declarations. */
const REPO_QUEUES = await loadAllQueues(REPO_ROOT);

/** The declared queues these specs send their async successes to (pdf-manifest's results, say). */
function successQueuesOf(specs: readonly LoadedSpec[]): QueueSpec[] {
  const named = new Set(specs.flatMap((l) => (l.spec.async?.onSuccess ? [l.spec.async.onSuccess.queue] : [])));
  return REPO_QUEUES.filter((q) => named.has(q.name));
}

export function synthInto(
  root: string,
  specs: LoadedSpec[],
  settings: Partial<AppSettings> = {},
  layers: LoadedLayer[] = [],
  queues: QueueSpec[] = successQueuesOf(specs),
): Synthesized {
  const outdir = join(root, 'infra', 'cdktf.out');
  const { app } = buildApp({ ...defaultSettings, ...settings, specs, layers, queues, outdir });
  app.synth();
  const stackDir = (stack: string) => join(outdir, 'stacks', stack);
  const raw = (stack: string) => readFileSync(join(stackDir(stack), 'cdk.tf.json'), 'utf8');
  return { outdir, stackDir, raw, json: (stack) => JSON.parse(raw(stack)) as StackJson };
}

/** Resources of one type, by their cdktf logical id. */
export function resourcesOf(json: StackJson, type: string): Array<Record<string, unknown>> {
  return Object.values(json.resource[type] ?? {});
}

/** The messages of the warnings synth left in a stack's manifest entry (cdktf annotations). */
export function synthWarnings(outdir: string, stack = 'laminar-dev'): string[] {
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as { stacks: Record<string, { annotations?: { level: string; message: string }[] }> };
  return (manifest.stacks[stack]?.annotations ?? []).filter((a) => a.level === '@cdktf/warn').map((a) => a.message);
}

/** What every `<rule>-undelivered-lost` alarm is, given a reference to its rule's name. */
export function undeliveredLostAlarm(ruleNameRef: string): Record<string, unknown> {
  return {
    namespace: 'AWS/Events',
    metric_name: 'InvocationsFailedToBeSentToDlq',
    // The default bus's rules: their metrics carry RuleName alone.
    dimensions: { RuleName: ruleNameRef },
    statistic: 'Sum',
    threshold: 0,
    comparison_operator: 'GreaterThanThreshold',
    treat_missing_data: 'notBreaching',
  };
}
