import { Duration, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Alarm, ComparisonOperator, MathExpression, Metric, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { FilterPattern, MetricFilter, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface OperationalAlarmsProps {
  readonly api: HttpApi;
  readonly functions: readonly IFunction[];
  /** Log groups of the functions that call KMS: the signing ones (the others verify with keys put in at deploy time). */
  readonly kmsLogGroups: readonly ILogGroup[];
  /** Where alarms notify; none by default (they still show in the console). */
  readonly alarmTopicArn?: string;
}

const PERIOD = Duration.minutes(5);
/** CloudWatch allows at most 10 metrics in one metric math alarm. */
const METRICS_PER_ALARM = 10;

/**
 * Alarms on what a caller would notice: API 5xx answers, Lambda throttles, and
 * KMS failures, KMS throttling among them.
 *
 * KMS publishes no per-key error metric, and our functions catch every KMS
 * error and answer 503 (so Lambda's own `Errors` metric stays at zero). The
 * endpoint middleware logs each one as JSON `{"msg":"dependency failure",
 * "dependency":"kms"}`: a metric filter on every function's log group counts
 * those lines into one custom metric, and that metric is alarmed. Only the
 * signing functions call KMS; a failed read of the public keys fails the
 * deploy instead.
 */
export class OperationalAlarms extends Construct {
  readonly serverErrors: Alarm;
  readonly throttles: Alarm[] = [];
  readonly kmsErrors: Alarm;
  readonly kmsErrorMetric: Metric;
  /** KMS refusing Sign for the account's ECC request quota: the signing routes together outran it (lib/throttles.ts). */
  readonly kmsThrottles: Alarm;
  readonly kmsThrottleMetric: Metric;

  constructor(scope: Construct, id: string, props: OperationalAlarmsProps) {
    super(scope, id);
    const action = props.alarmTopicArn ? new SnsAction(Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn)) : undefined;
    const alarm = (alarmId: string, metric: IMetric, threshold: number, description: string): Alarm => {
      const created = new Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      if (action) created.addAlarmAction(action);
      return created;
    };

    this.serverErrors = alarm(
      'Api5xx',
      props.api.metricServerError({ period: PERIOD }),
      5,
      'Twofold API answered 5 or more 5xx responses in 5 minutes (503s mean DynamoDB, KMS, SES or SNS is failing)',
    );

    for (let i = 0; i < props.functions.length; i += METRICS_PER_ALARM) {
      const chunk = props.functions.slice(i, i + METRICS_PER_ALARM);
      const usingMetrics = Object.fromEntries(chunk.map((fn, j) => [`t${j}`, fn.metricThrottles({ period: PERIOD, statistic: 'Sum' })]));
      const group = i / METRICS_PER_ALARM + 1;
      this.throttles.push(
        alarm(
          `LambdaThrottles${group}`,
          new MathExpression({ expression: 'SUM(METRICS())', usingMetrics, period: PERIOD, label: `Throttles (functions group ${group})` }),
          1,
          'A Twofold function was throttled (account or reserved concurrency exhausted): callers got 5xx',
        ),
      );
    }

    const namespace = `Twofold/${Stack.of(this).stackName}`;
    props.kmsLogGroups.forEach((logGroup, index) => {
      new MetricFilter(this, `KmsErrorFilter${index}`, {
        logGroup,
        metricNamespace: namespace,
        metricName: 'KmsErrors',
        metricValue: '1',
        filterPattern: FilterPattern.all(
          FilterPattern.stringValue('$.msg', '=', 'dependency failure'),
          FilterPattern.stringValue('$.dependency', '=', 'kms'),
        ),
      });
    });
    this.kmsErrorMetric = new Metric({ namespace, metricName: 'KmsErrors', statistic: 'Sum', period: PERIOD });
    this.kmsErrors = alarm(
      'KmsErrors',
      this.kmsErrorMetric,
      1,
      'KMS Sign failed: tokens cannot be issued (check the key state and the functions\' grants)',
    );

    // The same lines, where the cause is KMS throttling (its error name leads the logged cause).
    props.kmsLogGroups.forEach((logGroup, index) => {
      new MetricFilter(this, `KmsThrottleFilter${index}`, {
        logGroup,
        metricNamespace: namespace,
        metricName: 'KmsThrottles',
        metricValue: '1',
        filterPattern: FilterPattern.all(
          FilterPattern.stringValue('$.msg', '=', 'dependency failure'),
          FilterPattern.stringValue('$.dependency', '=', 'kms'),
          FilterPattern.stringValue('$.cause', '=', 'ThrottlingException*'),
        ),
      });
    });
    this.kmsThrottleMetric = new Metric({ namespace, metricName: 'KmsThrottles', statistic: 'Sum', period: PERIOD });
    this.kmsThrottles = alarm(
      'KmsThrottles',
      this.kmsThrottleMetric,
      1,
      'KMS throttled Sign: the signing routes together outran the account\'s KMS ECC request quota, and logins answered 503 (raise the quota, then kmsSignQuota; docs/deploy.md)',
    );
  }
}
