/**
 * The operations construct in the synthesized template: the dashboard, the
 * anomaly alarms and the saved Logs Insights queries (docs/operations.md),
 * asserted rather than snapshotted. Bundling is skipped: it changes nothing
 * here but the asset contents.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../../functions/routes.js';
import { workers } from '../../functions/workers.js';
import { TwofoldStack } from '../../lib/twofold-stack.js';

const NS = 'Twofold/Twofold';
let template: Template;
let stack: TwofoldStack;

beforeAll(() => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  stack = new TwofoldStack(app, 'Twofold', { env: { account: '123456789012', region: 'us-east-1' }, senderEmail: 'no-reply@twofold.example', alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops' });
  template = Template.fromStack(stack);
});

/** The dashboard body with its CloudFormation joins flattened to text (tokens as placeholders). */
function dashboardBody(): string {
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const body = dashboard!.Properties.DashboardBody;
  const flatten = (part: unknown): string => (typeof part === 'string' ? part : Array.isArray(part) ? part.map(flatten).join('') : '<token>');
  return typeof body === 'string' ? body : flatten(body['Fn::Join'][1]);
}

describe('the metrics namespace', () => {
  it('every function writes its embedded metrics under the stack\'s namespace', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')).filter((fn) => fn.Properties.Environment?.Variables?.TABLE_NAME);
    // One per route, and the delivery sender (which counts deliveries).
    expect(functions.length).toBe(routes.length + workers.length);
    for (const fn of functions) expect(fn.Properties.Environment.Variables.METRICS_NAMESPACE).toBe(NS);
  });
});

describe('the dashboard', () => {
  it('is one dashboard named after the stack', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'Twofold-operations' });
  });

  it('shows authentications, MFA, lockouts, refresh reuse, enrolments and sends from the embedded metrics', () => {
    const body = dashboardBody();
    for (const metric of ['Authentications', 'MfaReached', 'Lockouts', 'RefreshTokenReuse', 'Enrolments', 'Verifications', 'Sends']) expect(body).toContain(metric);
    expect(body).toContain(`{\\"${NS}\\",channel,outcome} MetricName=\\"Sends\\"`);
    // Deliveries per country calling code.
    expect(body).toContain(`{\\"${NS}\\",calling_code,channel,outcome} MetricName=\\"Sends\\" channel=\\"sms\\" outcome=\\"delivered\\"`);
  });

  it('shows latency, errors and throttles of every route, the API, KMS and DynamoDB health', () => {
    const body = dashboardBody();
    for (const name of ['Duration', 'Errors', 'Throttles', 'Latency', '5xx', '4xx', 'ThrottledRequests', 'SystemErrors', 'SuccessfulRequestLatency', 'KmsErrors']) expect(body).toContain(name);
    // The account's KMS Sign calls (the quota's own usage metric).
    expect(body).toContain('"AWS/Usage","CallCount","Class","None","Resource","Sign","Service","KMS","Type","API"');
    // One Duration line per route's function.
    expect(body.match(/"AWS\/Lambda","Duration"/g)?.length).toBe(routes.length);
  });
});

describe('the anomaly alarms', () => {
  const anomalyAlarm = (metricName: string, dimensions: Array<{ Name: string; Value: string }>) =>
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ComparisonOperator: 'GreaterThanUpperThreshold',
      ThresholdMetricId: Match.anyValue(),
      TreatMissingData: 'notBreaching',
      AlarmActions: ['arn:aws:sns:us-east-1:123456789012:ops'],
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: Match.stringLikeRegexp('^ANOMALY_DETECTION_BAND\\(') }),
        Match.objectLike({ MetricStat: Match.objectLike({ Metric: { Namespace: NS, MetricName: metricName, ...(dimensions.length && { Dimensions: dimensions }) }, Stat: 'Sum' }) }),
      ]),
    });

  it('SMS pumping: SMS deliveries above their band', () => anomalyAlarm('Sends', [{ Name: 'channel', Value: 'sms' }, { Name: 'outcome', Value: 'delivered' }]));
  it('stuffing: wrong passwords above their band', () => anomalyAlarm('Authentications', [{ Name: 'method', Value: 'pwd' }, { Name: 'outcome', Value: 'auth_invalid_credentials' }]));
  it('stuffing: lockouts above their band', () => anomalyAlarm('Lockouts', []));
  it('deliveries failing above their band', () => anomalyAlarm('Sends', [{ Name: 'outcome', Value: 'failed' }]));

  it('each names its runbook section', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((a) => a.Properties.ThresholdMetricId);
    expect(alarms).toHaveLength(4);
    for (const alarm of alarms) expect(alarm.Properties.AlarmDescription).toMatch(/Runbook: docs\/operations\.md#[a-z]+$/);
  });
});

describe('the saved Logs Insights queries', () => {
  const auditGroups = () => routes.filter((r) => r.capabilities?.includes('audit')).length;

  it('failed logins by IP, lockouts, and a user\'s recent authentications, over the logs of every route that audits', () => {
    const queries = Object.values(template.findResources('AWS::Logs::QueryDefinition'));
    expect(queries.map((q) => q.Properties.Name).sort()).toEqual(['Twofold/A user\'s recent authentications (replace USER_ID)', 'Twofold/Failed logins by IP', 'Twofold/Lockouts']);
    for (const q of queries) expect(q.Properties.LogGroupNames).toHaveLength(auditGroups());
    const byName = Object.fromEntries(queries.map((q) => [q.Properties.Name, q.Properties.QueryString as string]));
    expect(byName['Twofold/Failed logins by IP']).toMatch(/filter msg = "audit"[\s\S]*event = "authentication"[\s\S]*outcome != "success"[\s\S]*by ip/);
    expect(byName['Twofold/Lockouts']).toMatch(/event = "lockout"/);
    expect(byName['Twofold/A user\'s recent authentications (replace USER_ID)']).toMatch(/user_id = "USER_ID"/);
  });
});
