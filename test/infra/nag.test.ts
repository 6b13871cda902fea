/**
 * cdk-nag's AWS Solutions pack over the whole stack: no unacknowledged
 * finding, and every acknowledgement carries its reason and is still needed.
 * cdk-nag reads resource configuration only, so this stack skips bundling
 * (test/infra/stack.test.ts builds the real bundles).
 */
import { App, Validations, type CfnResource } from 'aws-cdk-lib';
import nag from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TwofoldStack } from '../../lib/twofold-stack.js';

// cdk-nag is CommonJS without statically detectable export names.
const { AwsSolutionsChecks } = nag;

/** The pack with every acknowledgement ignored: shows what each one hides. */
class UnacknowledgedAwsSolutionsChecks extends AwsSolutionsChecks {
  constructor() {
    super();
    (this as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  }
}

const PROPS = {
  env: { account: '123456789012', region: 'us-east-1' },
  senderEmail: 'no-reply@twofold.example',
  smsSenderId: 'Twofold',
  previousKeyArns: ['arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000'],
  allowedOrigins: ['https://shop.example'],
  // Checked with the optional audit bus on, so its resources are checked too.
  auditEvents: true,
};

let app: App;
let stack: TwofoldStack;

function acknowledgements(root: IConstruct): Array<{ path: string; id: string; reason: string }> {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
      .map(([id, reason]) => ({ path: construct.node.path, id: id.replace(/^annotation::/i, ''), reason })),
  );
}

beforeAll(() => {
  app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  stack = new TwofoldStack(app, 'Twofold', PROPS);
});

describe('cdk-nag AwsSolutions checks', () => {
  it('find nothing unacknowledged, errors or warnings', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.map((v) => `${v.severity} ${v.ruleName} at ${v.violatingResources[0]?.constructPath}: ${v.description}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('pass as a synthesis validation plugin too', () => {
    const pluginApp = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    new TwofoldStack(pluginApp, 'Twofold', PROPS);
    Validations.of(pluginApp).addPlugins(new AwsSolutionsChecks(pluginApp));
    expect(() => pluginApp.synth()).not.toThrow();
    // A full synth of every route: slow on a loaded machine, not a hang.
  }, 120_000);

  it('acknowledge each finding with a written reason', () => {
    const acks = acknowledgements(stack);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.id, ack.path).toMatch(/^AwsSolutions-/);
      expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThan(40);
    }
  });

  it('carry no stale acknowledgement: each one hides a finding the pack would otherwise report there', () => {
    const report = new UnacknowledgedAwsSolutionsChecks().validateScope(stack);
    const findings = report.violations.flatMap((v) => v.violatingResources.map((r) => ({ id: v.ruleName, path: r.constructPath ?? '' })));
    for (const ack of acknowledgements(stack)) {
      const hidden = findings.filter((f) => f.id === ack.id && (f.path === ack.path || f.path.startsWith(`${ack.path}/`)));
      expect(hidden.length, `${ack.id} at ${ack.path}`).toBeGreaterThan(0);
    }
  });

  it('never need to acknowledge a wildcard on KMS, DynamoDB or Secrets Manager', () => {
    const report = new UnacknowledgedAwsSolutionsChecks().validateScope(stack);
    const wildcards = report.violations.filter((v) => v.ruleName.startsWith('AwsSolutions-IAM5'));
    // The one accepted wildcard is sns:Publish to phone numbers, on the SMS functions' roles.
    expect(wildcards.map((v) => v.ruleName)).toEqual(['AwsSolutions-IAM5[Resource::*]']);
    const roles = wildcards[0]!.violatingResources.map((r) => r.constructPath);
    for (const path of roles) {
      const policy = stack.node.findAll().find((c) => c.node.path === path) as CfnResource;
      const statements = stack.resolve((policy as unknown as { policyDocument: unknown }).policyDocument).Statement as Array<{ Action: string; Resource: unknown }>;
      expect(statements.filter((s) => s.Resource === '*').map((s) => s.Action)).toEqual(['sns:Publish']);
    }
  });
});
