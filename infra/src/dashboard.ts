/**
 * The stage dashboard's body: one row per function (a header, then invocations, errors with the DLQ
 * depth, duration p95 against the timeout, throttles, concurrent executions and the function's own
 * EMF metrics). Pure and literal (names known at synth time, no Terraform references), so the JSON
 * is the same bytes on every synth.
 */
import { byCodePoint } from '@laminar/spec';
import { COLD_START_METRIC } from './metrics.ts';

export interface DashboardFunction {
  /** Spec name ("pdf-manifest"). */
  name: string;
  /** Deployed name ("laminar-dev-pdf-manifest"). */
  functionName: string;
  timeoutS: number;
  /** The DLQ's name, when the function has one. */
  dlqName?: string;
  /** EMF namespace and `service` dimension (POWERTOOLS_METRICS_NAMESPACE / POWERTOOLS_SERVICE_NAME), when set. */
  emf?: { namespace: string; service: string; stage: string; metrics: readonly string[]; coldStart: boolean };
}

/** Fraction of the timeout at which the duration alarm fires; the dashboard draws the same line. */
export const DURATION_ALARM_FRACTION = 0.8;

const PERIOD_S = 300;
const WIDGET = { width: 4, height: 6 } as const;
const HEADER_HEIGHT = 1;

type Metric = Array<string | Record<string, string>>;

function widget(x: number, y: number, title: string, region: string, stat: string, metrics: Metric[], extra: Record<string, unknown> = {}) {
  return {
    type: 'metric',
    x,
    y,
    width: WIDGET.width,
    height: WIDGET.height,
    properties: { title, region, view: 'timeSeries', stacked: false, stat, period: PERIOD_S, metrics, ...extra },
  };
}

export function dashboardBody(region: string, functions: readonly DashboardFunction[]): string {
  const widgets: unknown[] = [];
  let y = 0;
  for (const f of [...functions].sort((a, b) => byCodePoint(a.name, b.name))) {
    const fn = ['FunctionName', f.functionName];
    widgets.push({
      type: 'text',
      x: 0,
      y,
      width: 24,
      height: HEADER_HEIGHT,
      properties: { markdown: `### ${f.name} · \`${f.functionName}\` · timeout ${f.timeoutS} s${f.dlqName ? ` · DLQ \`${f.dlqName}\`` : ''}` },
    });
    y += HEADER_HEIGHT;
    const timeoutMs = f.timeoutS * 1000;
    const row = [
      widget(0, y, `${f.name}: invocations`, region, 'Sum', [['AWS/Lambda', 'Invocations', ...fn]]),
      widget(
        4,
        y,
        `${f.name}: errors${f.dlqName ? ' and DLQ depth' : ''}`,
        region,
        'Sum',
        [
          ['AWS/Lambda', 'Errors', ...fn],
          ...(f.dlqName ? [['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', f.dlqName, { stat: 'Maximum', yAxis: 'right', label: 'DLQ messages' }]] : []),
        ],
      ),
      widget(8, y, `${f.name}: duration p95 (ms)`, region, 'p95', [['AWS/Lambda', 'Duration', ...fn]], {
        annotations: {
          horizontal: [
            { label: `alarm: ${Math.round(DURATION_ALARM_FRACTION * 100)} % of timeout`, value: Math.round(timeoutMs * DURATION_ALARM_FRACTION) },
            { label: 'timeout', value: timeoutMs },
          ],
        },
        yAxis: { left: { min: 0 } },
      }),
      widget(12, y, `${f.name}: throttles`, region, 'Sum', [['AWS/Lambda', 'Throttles', ...fn]]),
      widget(16, y, `${f.name}: concurrent executions`, region, 'Maximum', [['AWS/Lambda', 'ConcurrentExecutions', ...fn]]),
    ];
    const emf = f.emf;
    if (emf && (emf.metrics.length > 0 || emf.coldStart)) {
      row.push(
        widget(20, y, `${f.name}: ${emf.namespace} metrics`, region, 'Sum', [
          ...emf.metrics.map((m) => [emf.namespace, m, 'service', emf.service, 'stage', emf.stage]),
          ...(emf.coldStart ? [[emf.namespace, COLD_START_METRIC, 'function_name', f.functionName, 'service', emf.service, 'stage', emf.stage]] : []),
        ]),
      );
    } else {
      widgets.push({
        type: 'text',
        x: 20,
        y,
        width: WIDGET.width,
        height: WIDGET.height,
        properties: { markdown: 'No EMF metrics declared (the spec lists none under metrics).' },
      });
    }
    widgets.push(...row);
    y += WIDGET.height;
  }
  return JSON.stringify({ start: '-PT24H', periodOverride: 'inherit', widgets });
}
