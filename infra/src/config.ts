import type { Setting } from '@laminar/spec';
import { assertStage } from './naming.ts';

export type StateBackend =
  | { kind: 'local' }
  | { kind: 's3'; bucket: string; region: string; lockTable?: string };

export interface AppSettings {
  stages: string[];
  region: string;
  gitSha: string;
  backend: StateBackend;
  bucketSuffix?: string;
  /** Default of the `alarm_email` Terraform variable (LAMINAR_ALARM_EMAIL); empty: no subscription. */
  alarmEmail?: string;
  /** Stage settings fixed at synth time; any not given here become Terraform variables. */
  settings?: Partial<Record<Setting, string>>;
}

/** All deploy-time knobs come from the environment so CI and laptops synthesize the same code path. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): AppSettings {
  const stages = [
    ...new Set(
      (env.LAMINAR_STAGE || 'dev')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ].map(assertStage);
  if (stages.length === 0) throw new Error('LAMINAR_STAGE names no stage');
  const region = env.LAMINAR_AWS_REGION || 'eu-west-1';
  const stateBucket = env.LAMINAR_STATE_BUCKET;
  const lockTable = env.LAMINAR_STATE_LOCK_TABLE;
  const suffix = env.LAMINAR_BUCKET_SUFFIX;
  if (suffix !== undefined && suffix !== '' && !/^[a-z0-9][a-z0-9-]*[a-z0-9]$|^[a-z0-9]$/.test(suffix)) {
    throw new Error(`LAMINAR_BUCKET_SUFFIX "${suffix}" must be lower-case letters, digits and inner hyphens`);
  }
  return {
    stages,
    region,
    gitSha: env.LAMINAR_GIT_SHA || env.GITHUB_SHA || 'local',
    backend: stateBucket
      ? { kind: 's3', bucket: stateBucket, region, ...(lockTable ? { lockTable } : {}) }
      : { kind: 'local' },
    ...(suffix ? { bucketSuffix: suffix } : {}),
    ...(env.LAMINAR_ALARM_EMAIL ? { alarmEmail: env.LAMINAR_ALARM_EMAIL } : {}),
    ...(env.LAMINAR_KAFKA_BOOTSTRAP_SERVERS ? { settings: { kafkaBootstrapServers: env.LAMINAR_KAFKA_BOOTSTRAP_SERVERS } } : {}),
  };
}
