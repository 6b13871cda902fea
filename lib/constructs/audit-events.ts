import { CfnOutput, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { CfnResourcePolicy, LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnParameter } from 'aws-cdk-lib/aws-ssm';
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
 *
 * The log group outlives the stack (it is retained), so its name must never
 * be one that a later create could meet again: after a rollback, a destroy,
 * or turning audit events off and on, a fixed name would fail the next
 * create with "already exists". EventBridge delivers to log groups under
 * `/aws/events/`, so CloudFormation cannot simply name it; instead its name
 * ends with the name CloudFormation generates (unique, every time it is
 * created) for a small SSM parameter created and deleted with it:
 * `/aws/events/<stack>-audit/CFN-<id>-<random>` (output AuditTrailLogGroupName).
 */
export class AuditEvents extends Construct {
  readonly bus: EventBus;
  readonly logGroup: LogGroup;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: AuditEventsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.bus = new EventBus(this, 'Bus', { eventBusName: `${stack.stackName}-audit`, description: 'Twofold audit events' });
    // A new unique name each time the trail is created; removed with the stack or the option.
    const nonce = new CfnParameter(this, 'TrailNameSuffix', {
      type: 'String',
      value: 'Names the Twofold audit trail log group uniquely',
      description: 'Its generated name ends the audit trail log group name, so a retained trail never blocks a new one',
    });
    this.logGroup = new LogGroup(this, 'Trail', {
      logGroupName: `/aws/events/${stack.stackName}-audit/${nonce.ref}`,
      retention: props.retention,
      // An audit trail outlives the stack that wrote it, even a failed deploy's few events: its name never repeats.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    new CfnOutput(this, 'TrailName', { value: this.logGroup.logGroupName, description: 'The audit trail log group' }).overrideLogicalId('AuditTrailLogGroupName');
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
