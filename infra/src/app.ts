import { mkdirSync } from 'node:fs';
import type { LoadedLayer, LoadedSpec, QueueSpec } from '@laminar/spec';
import { App } from 'cdktf';
import type { AppSettings } from './config.ts';
import { LaminarStack } from './stack.ts';

export interface BuildAppOptions extends AppSettings {
  specs: readonly LoadedSpec[];
  layers?: readonly LoadedLayer[];
  queues?: readonly QueueSpec[];
  outdir: string;
}

/** Builds (does not synthesize) the app; shared by main.ts and the tests so both run one code path. */
export function buildApp(opts: BuildAppOptions): { app: App; stacks: LaminarStack[] } {
  // cdktf's App creates only the last path segment.
  mkdirSync(opts.outdir, { recursive: true });
  // Stack traces in metadata would embed absolute source paths into the JSON.
  const app = new App({ outdir: opts.outdir, stackTraces: false });
  const stacks = opts.stages.map(
    (stage) =>
      new LaminarStack(app, {
        stage,
        region: opts.region,
        gitSha: opts.gitSha,
        backend: opts.backend,
        ...(opts.bucketSuffix ? { bucketSuffix: opts.bucketSuffix } : {}),
        specs: opts.specs,
        layers: opts.layers ?? [],
        queues: opts.queues ?? [],
        ...(opts.settings ? { settings: opts.settings } : {}),
        ...(opts.alarmEmail ? { alarmEmail: opts.alarmEmail } : {}),
        outdir: opts.outdir,
      }),
  );
  return { app, stacks };
}
