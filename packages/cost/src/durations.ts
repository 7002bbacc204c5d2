import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * Measured durations (`--durations <file>`): per function either a summary or the REPORT records
 * themselves — the `report` objects `laminar invoke <fn> --json` prints (durationMs,
 * initDurationMs, cold), from which the summary is computed here.
 */

const ms = z.number().min(0);

export const durationSummary = z.strictObject({
  avgMs: ms.optional(),
  /**
   * The mean of what each invocation was billed: its own duration (a cold one's with its INIT)
   * rounded up to the millisecond. Rounding the mean instead bills up to 1 ms less per invocation.
   */
  avgBilledMs: ms.optional(),
  p50Ms: ms.optional(),
  p95Ms: ms.optional(),
  initMs: ms.optional(),
  coldStartShare: z.number().min(0).max(1).optional(),
  count: z.number().int().min(0).optional(),
  source: z.string().optional(),
});
export type DurationSummary = z.infer<typeof durationSummary>;

/** The fields of the local runner's InvocationReport this needs (others are ignored). */
const report = z.looseObject({ durationMs: ms, initDurationMs: ms.optional(), cold: z.boolean().optional() });

export const durationsSchema = z.record(z.string(), z.union([durationSummary, z.array(report).min(1)]));

/** Which figure stands for "the" duration: the mean bills like the real thing, p95 is a pessimistic bound. */
export type DurationStatistic = 'avg' | 'p50' | 'p95';

export type Durations = Record<string, DurationSummary>;

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('percentile of nothing');
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

export function summarize(reports: ReadonlyArray<{ durationMs: number; initDurationMs?: number | undefined; cold?: boolean | undefined }>): DurationSummary {
  const d = reports.map((r) => r.durationMs).sort((a, b) => a - b);
  const cold = reports.filter((r) => r.cold || r.initDurationMs !== undefined);
  const inits = cold.flatMap((r) => (r.initDurationMs === undefined ? [] : [r.initDurationMs]));
  const billed = reports.map((r) => Math.max(1, Math.ceil(r.durationMs + (r.initDurationMs ?? 0))));
  return {
    avgMs: d.reduce((a, b) => a + b, 0) / d.length,
    avgBilledMs: billed.reduce((a, b) => a + b, 0) / billed.length,
    p50Ms: percentile(d, 50),
    p95Ms: percentile(d, 95),
    ...(inits.length ? { initMs: inits.reduce((a, b) => a + b, 0) / inits.length } : {}),
    coldStartShare: cold.length / reports.length,
    count: reports.length,
    source: `${reports.length} REPORT record${reports.length === 1 ? '' : 's'}`,
  };
}

export function parseDurations(input: unknown, where = 'durations'): Durations {
  const parsed = durationsSchema.safeParse(input);
  if (!parsed.success) {
    throw new Error(`${where}:\n${parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(file)'}: ${i.message}`).join('\n')}`);
  }
  return Object.fromEntries(Object.entries(parsed.data).map(([name, v]) => [name, Array.isArray(v) ? summarize(v) : v]));
}

export function loadDurations(file: string): Durations {
  return parseDurations(JSON.parse(readFileSync(file, 'utf8')), file);
}

/** The duration to bill with, and which statistic it is (the asked one, else the nearest available). */
export function pickDuration(s: DurationSummary, want: DurationStatistic): { ms: number; statistic: DurationStatistic } | undefined {
  const order: Record<DurationStatistic, DurationStatistic[]> = { avg: ['avg', 'p50', 'p95'], p50: ['p50', 'avg', 'p95'], p95: ['p95', 'avg', 'p50'] };
  for (const stat of order[want]) {
    const v = stat === 'avg' ? s.avgMs : stat === 'p50' ? s.p50Ms : s.p95Ms;
    if (v !== undefined) return { ms: v, statistic: stat };
  }
  return undefined;
}
