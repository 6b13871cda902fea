import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { CfnResourcePolicy, LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface AuditEventsProps {
  readonly retention: RetentionDays;
}

/**
 * The optional audit trail in EventBridge (docs/audit.md): a bus of its own
 * that the emitting functions put audit events on, and a rule that keeps every
 * event in a log group. A SIEM subscribes with a rule of its own on the bus.
 *
 * The rule's log-group target is written out by hand: CDK's CloudWatchLogGroup
 * target sets the log group's resource policy through a custom-resource
 * Lambda, and a plain AWS::Logs::ResourcePolicy does the same with nothing to run.
 */
export class AuditEvents extends Construct {
  readonly bus: EventBus;
  readonly logGroup: LogGroup;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: AuditEventsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.bus = new EventBus(this, 'Bus', { eventBusName: `${stack.stackName}-audit`, description: 'Twofold audit events' });
    this.logGroup = new LogGroup(this, 'Trail', {
      logGroupName: `/aws/events/${stack.stackName}-audit`,
      retention: props.retention,
      // An audit trail outlives the stack that wrote it.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.rule = new Rule(this, 'ToTrail', {
      eventBus: this.bus,
      description: 'Keep every Twofold audit event in the audit log group',
      eventPattern: { source: ['twofold'] },
      targets: [{ bind: () => ({ id: 'AuditTrail', arn: this.logGroup.logGroupArn }) }],
    });
    new CfnResourcePolicy(this, 'TrailPolicy', {
      policyName: `${stack.stackName}-audit-trail`,
      policyDocument: stack.toJsonString({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: ['events.amazonaws.com', 'delivery.logs.amazonaws.com'] },
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: this.logGroup.logGroupArn,
            Condition: { ArnEquals: { 'aws:SourceArn': this.rule.ruleArn } },
          },
        ],
      }),
    });
  }

  /** events:PutEvents on this bus only. */
  grantPut(grantee: IGrantable): void {
    Grant.addToPrincipal({ grantee, actions: ['events:PutEvents'], resourceArns: [this.bus.eventBusArn] });
  }
}
