import type { CloudwatchMetricAlarmConfig } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';

/**
 * The metric half of an alarm on a dead-letter queue holding anything. The Maximum of the visible
 * messages over 5 minutes, so that a single message drained quickly still trips it.
 */
export function queueNotEmpty(queueName: string): Pick<
  CloudwatchMetricAlarmConfig,
  'namespace' | 'metricName' | 'dimensions' | 'statistic' | 'period' | 'evaluationPeriods' | 'threshold' | 'comparisonOperator' | 'treatMissingData'
> {
  return {
    namespace: 'AWS/SQS',
    metricName: 'ApproximateNumberOfMessagesVisible',
    dimensions: { QueueName: queueName },
    statistic: 'Maximum',
    period: 300,
    evaluationPeriods: 1,
    threshold: 0,
    comparisonOperator: 'GreaterThanThreshold',
    treatMissingData: 'notBreaching',
  };
}
