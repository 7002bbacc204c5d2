/** Lambda's platform lines (START, END, REPORT, INIT_REPORT), formatted as CloudWatch shows them. */

export interface InvocationReport {
  durationMs: number;
  billedMs: number;
  memorySizeMb: number;
  maxMemoryUsedMb: number;
  /** Only on cold starts. */
  initDurationMs?: number;
  cold: boolean;
  /**
   * Set when the platform, not the handler, ended the invocation (Lambda adds "Status" to the
   * REPORT line then); a handler that threw leaves it unset, as in Lambda.
   */
  status?: 'timeout' | 'error';
  errorType?: string;
  /** The environment failed to initialize; the error is the init error. */
  initError?: true;
}

/**
 * Since August 2025 Lambda bills the INIT phase of on-demand functions packaged as zip files, so a
 * cold start's billed duration covers init plus the handler, rounded up to the millisecond.
 */
export function billedDurationMs(durationMs: number, initDurationMs?: number): number {
  return Math.max(1, Math.ceil(durationMs + (initDurationMs ?? 0)));
}

export function bytesToMb(bytes: number): number {
  return Math.ceil(bytes / (1024 * 1024));
}

const ms = (n: number) => `${n.toFixed(2)} ms`;

export function formatStart(requestId: string, version = '$LATEST'): string {
  return `START RequestId: ${requestId} Version: ${version}`;
}

export function formatEnd(requestId: string): string {
  return `END RequestId: ${requestId}`;
}

export function formatReport(requestId: string, r: InvocationReport): string {
  const parts = [
    `REPORT RequestId: ${requestId}`,
    `Duration: ${ms(r.durationMs)}`,
    `Billed Duration: ${r.billedMs} ms`,
    `Memory Size: ${r.memorySizeMb} MB`,
    `Max Memory Used: ${r.maxMemoryUsedMb} MB`,
  ];
  if (r.initDurationMs !== undefined) parts.push(`Init Duration: ${ms(r.initDurationMs)}`);
  if (r.status) parts.push(`Status: ${r.status}`);
  if (r.status === 'error' && r.errorType) parts.push(`Error Type: ${r.errorType}`);
  return parts.join('\t');
}

export function formatInitStart(runtime: string): string {
  return `INIT_START Runtime Version: ${runtime.replace('nodejs', 'nodejs:').replace('.x', '')}.local\tRuntime Version ARN: local`;
}

export function formatInitReport(initDurationMs: number, status: 'error' | 'timeout', errorType?: string): string {
  const parts = [`INIT_REPORT Init Duration: ${ms(initDurationMs)}`, 'Phase: init', `Status: ${status}`];
  if (status === 'error' && errorType) parts.push(`Error Type: ${errorType}`);
  return parts.join('\t');
}

/** Lambda's own wording, seconds with two decimals. */
export function timeoutMessage(timeoutMs: number): string {
  return `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`;
}

/** A wait or a delay for people to read: whole milliseconds, then tenths of seconds, minutes, hours. */
export function describeDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
