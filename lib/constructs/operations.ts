import { Duration, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  AnomalyDetectionAlarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
  type IMetric,
  type IWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Operation, type Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { QueryDefinition, QueryString, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** One route's function, as the dashboard shows it. */
export interface OperatedRoute {
  /** `POST /cis/v1/auth/otp/send` */
  readonly label: string;
  readonly fn: IFunction;
  readonly logGroup: ILogGroup;
  /** The route emits audit events (its log holds the `msg: "audit"` lines the saved queries read). */
  readonly audits: boolean;
}

export interface OperationsProps {
  /** The namespace of the functions' embedded metrics (METRICS_NAMESPACE). */
  readonly namespace: string;
  readonly routes: readonly OperatedRoute[];
  readonly api: HttpApi;
  readonly table: Table;
  /** KMS Sign failures, counted from the functions' logs (lib/constructs/alarms.ts). */
  readonly kmsErrorMetric: IMetric;
  /** Where the anomaly alarms notify; none by default. */
  readonly alarmTopicArn?: string;
}

/** The CloudWatch namespace of a stack's own metrics: the functions' embedded metrics and the KMS error count. */
export function metricsNamespace(stackName: string): string {
  return `Twofold/${stackName}`;
}

const PERIOD = Duration.minutes(5);
/** Dashboards' SEARCH finds every value of a dimension (every method, outcome, calling code) without listing them here. */
const search = (namespace: string, dimensions: string[], filter: string, label: string, stat = 'Sum') =>
  new MathExpression({ expression: `SEARCH('{"${namespace}",${dimensions.join(',')}} ${filter}', '${stat}', ${PERIOD.toSeconds()})`, usingMetrics: {}, label, period: PERIOD });

/**
 * What an operator looks at (docs/operations.md): one CloudWatch dashboard,
 * anomaly alarms on the attacks that cost money or accounts, and saved Logs
 * Insights queries over the audit lines.
 *
 * The Twofold metrics come from the embedded metric format in the functions'
 * log lines (functions/core/metrics.ts): no metric is published by an API
 * call. Latency and errors per route are the Lambda metrics of the route's
 * own function (one function per route).
 */
export class Operations extends Construct {
  readonly dashboard: Dashboard;
  /** SMS deliveries far above their usual rate: SMS pumping. */
  readonly smsPumping: AnomalyDetectionAlarm;
  /** Failed passwords far above their usual rate: credential stuffing or spraying. */
  readonly failedPasswords: AnomalyDetectionAlarm;
  /** Lockouts far above their usual rate: a stuffing wave locking accounts. */
  readonly lockouts: AnomalyDetectionAlarm;
  /** Deliveries failing (SES or SNS refusing) above their usual rate. */
  readonly deliveryFailures: AnomalyDetectionAlarm;
  readonly queries: QueryDefinition[] = [];

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    const ns = props.namespace;
    const stackName = Stack.of(this).stackName;
    const metric = (metricName: string, dimensionsMap: Record<string, string> = {}, label?: string) =>
      new Metric({ namespace: ns, metricName, dimensionsMap, statistic: 'Sum', period: PERIOD, ...(label && { label }) });

    const smsDelivered = metric('Sends', { channel: 'sms', outcome: 'delivered' }, 'SMS delivered');
    const failedPasswords = metric('Authentications', { method: 'pwd', outcome: 'auth_invalid_credentials' }, 'Wrong passwords');
    const lockouts = metric('Lockouts', {}, 'Lockouts');
    const deliveryFailures = metric('Sends', { outcome: 'failed' }, 'Deliveries failed');

    // ---- anomaly alarms ----------------------------------------------------
    const action = props.alarmTopicArn ? new SnsAction(Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn)) : undefined;
    const anomaly = (alarmId: string, watched: IMetric, stdDevs: number, description: string) => {
      const alarm = new AnomalyDetectionAlarm(this, alarmId, {
        alarmName: `${stackName}-${alarmId}`,
        metric: watched,
        stdDevs,
        comparisonOperator: ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
        // Two of three 5-minute periods above the band: one burst is noise, a wave is not.
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        // No line, no metric: quiet hours are normal, never an alarm.
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `${description} Runbook: docs/operations.md#${alarmId.toLowerCase()}`,
      });
      if (action) alarm.addAlarmAction(action);
      return alarm;
    };
    this.smsPumping = anomaly('SmsPumping', smsDelivered, 3, 'SMS deliveries are far above their usual rate: possible SMS pumping (toll fraud).');
    this.failedPasswords = anomaly('FailedPasswords', failedPasswords, 3, 'Wrong passwords are far above their usual rate: possible credential stuffing or password spraying.');
    this.lockouts = anomaly('Lockouts', lockouts, 3, 'Lockouts are far above their usual rate: a guessing wave is locking accounts.');
    this.deliveryFailures = anomaly('DeliveryFailures', deliveryFailures, 2, 'Email or SMS deliveries are failing above their usual rate: SES or SNS refuses or throttles.');

    // ---- the dashboard -----------------------------------------------------
    const graph = (title: string, left: IMetric[], width = 12, stacked = false) => new GraphWidget({ title, left, width, height: 6, stacked, period: PERIOD });
    const perRoute = (make: (fn: IFunction) => IMetric) => props.routes.map((route) => make(route.fn));
    const ddbOperations = [Operation.GET_ITEM, Operation.BATCH_GET_ITEM, Operation.PUT_ITEM, Operation.UPDATE_ITEM, Operation.DELETE_ITEM];
    const kmsSignCalls = new Metric({
      namespace: 'AWS/Usage',
      metricName: 'CallCount',
      dimensionsMap: { Service: 'KMS', Type: 'API', Resource: 'Sign', Class: 'None' },
      statistic: 'Sum',
      period: Duration.minutes(1),
      label: 'KMS Sign calls per minute (account)',
    });
    const rows: IWidget[][] = [
      [new TextWidget({ markdown: `# Twofold ${stackName}\nAuthentications, MFA, lockouts and deliveries from the functions' embedded metrics (namespace \`${ns}\`); alarms and what to do: docs/operations.md in the repository.`, width: 24, height: 2 })],
      [
        graph('Authentications by method and outcome', [search(ns, ['method', 'outcome'], 'MetricName="Authentications"', '')], 12, true),
        graph('Successes, failures and MFA reached', [
          metric('Authentications', { outcome: 'success' }, 'Successful authentications'),
          metric('MfaReached', {}, 'MFA reached'),
          failedPasswords,
        ]),
      ],
      [
        graph('Lockouts by method, refresh token reuse', [search(ns, ['method'], 'MetricName="Lockouts"', ''), metric('RefreshTokenReuse', {}, 'Refresh token reuse')]),
        graph('Enrolments, factor removals and verifications', [
          search(ns, ['method', 'outcome'], 'MetricName="Enrolments"', ''),
          search(ns, ['method'], 'MetricName="FactorRemovals"', ''),
          search(ns, ['method', 'outcome'], 'MetricName="Verifications"', ''),
        ]),
      ],
      [
        graph('Sends by channel and outcome', [search(ns, ['channel', 'outcome'], 'MetricName="Sends"', '')], 12, true),
        graph('SMS delivered by country calling code', [search(ns, ['calling_code', 'channel', 'outcome'], 'MetricName="Sends" channel="sms" outcome="delivered"', '')], 12, true),
      ],
      [
        graph('Latency per route (p99 ms, the route\'s function)', perRoute((fn) => fn.metricDuration({ statistic: 'p99', period: PERIOD })), 12),
        graph('Errors per route (function errors)', perRoute((fn) => fn.metricErrors({ period: PERIOD })), 12),
      ],
      [
        graph('API: requests, 4xx, 5xx', [props.api.metricCount({ period: PERIOD }), props.api.metricClientError({ period: PERIOD }), props.api.metricServerError({ period: PERIOD })], 8),
        graph('API latency (p50, p99 ms)', [props.api.metricLatency({ statistic: 'p50', period: PERIOD }), props.api.metricLatency({ statistic: 'p99', period: PERIOD })], 8),
        graph('Throttles per route (function)', perRoute((fn) => fn.metricThrottles({ period: PERIOD })), 8),
      ],
      [
        graph('KMS: Sign calls (account) and failures', [kmsSignCalls, props.kmsErrorMetric], 6),
        // Each of these sums the operations in an expression of its own: one graph each (their metric ids repeat).
        graph('DynamoDB: throttled requests', [props.table.metricThrottledRequestsForOperations({ operations: ddbOperations, period: PERIOD })], 6),
        graph('DynamoDB: system errors', [props.table.metricSystemErrorsForOperations({ operations: ddbOperations, period: PERIOD })], 6),
        graph('DynamoDB: latency (avg ms)', [
          ...[Operation.GET_ITEM, Operation.UPDATE_ITEM, Operation.PUT_ITEM].map((operation) =>
            props.table.metricSuccessfulRequestLatency({ dimensionsMap: { TableName: props.table.tableName, Operation: operation }, period: PERIOD, label: `${operation} latency` }),
          ),
        ], 6),
      ],
      [
        graph('Alarms: SMS, passwords, lockouts, failures against their bands', [smsDelivered, failedPasswords, lockouts, deliveryFailures], 24),
      ],
    ];
    this.dashboard = new Dashboard(this, 'Dashboard', { dashboardName: `${stackName}-operations`, widgets: rows, defaultInterval: Duration.hours(6) });

    // ---- saved Logs Insights queries ----------------------------------------
    const auditLogGroups = props.routes.filter((r) => r.audits).map((r) => r.logGroup);
    const query = (queryId: string, name: string, queryString: QueryString) =>
      this.queries.push(new QueryDefinition(this, queryId, { queryDefinitionName: `${stackName}/${name}`, queryString, logGroups: auditLogGroups }));
    query(
      'FailedLoginsByIp',
      'Failed logins by IP',
      new QueryString({
        filterStatements: ['msg = "audit"', 'event = "authentication"', 'outcome != "success"'],
        statsStatements: ['count(*) as failures, count_distinct(user_id) as users, count_distinct(client_id) as clients by ip'],
        sort: 'failures desc',
        limit: 100,
      }),
    );
    query(
      'LockoutsQuery',
      'Lockouts',
      new QueryString({
        fields: ['@timestamp', 'user_id', 'method', 'ip', 'client_id'],
        filterStatements: ['msg = "audit"', 'event = "lockout"'],
        sort: '@timestamp desc',
        limit: 500,
      }),
    );
    query(
      'UserAuthentications',
      "A user's recent authentications (replace USER_ID)",
      new QueryString({
        fields: ['@timestamp', 'method', 'outcome', 'mfa', 'ip', 'client_id'],
        filterStatements: ['msg = "audit"', 'event in ["authentication", "lockout", "logout", "refresh_token_reuse"]', 'user_id = "USER_ID"'],
        sort: '@timestamp desc',
        limit: 200,
      }),
    );
  }
}
