import type { CloudwatchMetricAlarmConfig } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';

type QueueAlarmMetric = Pick<
  CloudwatchMetricAlarmConfig,
  'namespace' | 'metricName' | 'dimensions' | 'statistic' | 'period' | 'evaluationPeriods' | 'threshold' | 'comparisonOperator' | 'treatMissingData'
>;

/**
 * The metric half of an alarm on a dead-letter queue holding anything. The Maximum of the visible
 * messages over 5 minutes, so that a single message drained quickly still trips it.
 *
 * It says that the queue waits for someone, not that something new failed: messages stay for 14
 * days, so after the first one it stays in ALARM, and later failures change nothing until the queue
 * is drained. Where nothing else reports each failure, pair it with queueArrivals.
 */
export function queueNotEmpty(queueName: string): QueueAlarmMetric {
  // Missing data keeps the state it has: SQS may stop publishing a queue's metrics after six idle
  // hours (nothing reads these queues), and "not breaching" would then send an OK while the
  // messages still wait. A drained queue reports 0 first, which is what ends the alarm.
  return { ...queueAboveZero(queueName, 'ApproximateNumberOfMessagesVisible', 'Maximum'), treatMissingData: 'ignore' };
}

/**
 * The metric half of an alarm on messages arriving in a dead-letter queue: the Sum of those sent to
 * it over 5 minutes. It goes back to OK after 5 minutes without a new one, so each later burst of
 * failures notifies again, however full the queue already is. NumberOfMessagesSent counts what a
 * service sends with SendMessage (EventBridge to a target's DLQ, Lambda to a destination), though not
 * what SQS moves there itself under a redrive policy.
 */
export function queueArrivals(queueName: string): QueueAlarmMetric {
  return queueAboveZero(queueName, 'NumberOfMessagesSent', 'Sum');
}

/** An SQS metric of the queue above 0 in one 5-minute period. */
function queueAboveZero(queueName: string, metricName: string, statistic: 'Maximum' | 'Sum'): QueueAlarmMetric {
  return {
    namespace: 'AWS/SQS',
    metricName,
    dimensions: { QueueName: queueName },
    statistic,
    period: 300,
    evaluationPeriods: 1,
    threshold: 0,
    comparisonOperator: 'GreaterThanThreshold',
    treatMissingData: 'notBreaching',
  };
}
