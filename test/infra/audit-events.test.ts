/**
 * The optional EventBridge audit trail (docs/audit.md): off by default; when
 * on, one bus with a rule that keeps every event in a log group, and only the
 * functions whose route emits audit events may put events, on that bus only.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../../functions/routes.js';
import { DELIVERY_SENDER } from '../../functions/workers.js';
import { PUBLISHED_KEYS_DESCRIPTION } from '../../lib/constructs/published-keys.js';
import { TwofoldStack } from '../../lib/twofold-stack.js';
import { retainedFixedNames } from '../support/retained-names.js';

type Resource = { Type: string; Properties: any; DeletionPolicy?: string };

const stacks: Partial<Record<'on' | 'off', TwofoldStack>> = {};

function synth(auditEvents?: boolean): Record<string, Resource> {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new TwofoldStack(app, 'Twofold', { env: { account: '123456789012', region: 'us-east-1' }, senderEmail: 'no-reply@twofold.example', auditEvents });
  stacks[auditEvents ? 'on' : 'off'] = stack;
  return Template.fromStack(stack).toJSON().Resources;
}

const ofType = (resources: Record<string, Resource>, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

/** Per route: the actions its role may take, and its environment. */
function functionsByRoute(resources: Record<string, Resource>) {
  const statementsByRole = new Map<string, any[]>();
  for (const [, policy] of ofType(resources, 'AWS::IAM::Policy')) {
    for (const role of policy.Properties.Roles) statementsByRole.set(role.Ref, [...(statementsByRole.get(role.Ref) ?? []), ...policy.Properties.PolicyDocument.Statement]);
  }
  return new Map(
    ofType(resources, 'AWS::Lambda::Function')
      .filter(([, fn]) => fn.Properties.Description !== PUBLISHED_KEYS_DESCRIPTION)
      .map(([, fn]) => {
        const route = [...routes, DELIVERY_SENDER].find((r) => fn.Properties.Description === ('method' in r ? `Twofold ${r.method} ${r.path}` : fn.Properties.Description) && ('method' in r || String(fn.Properties.Description).startsWith('Twofold delivery sender')))!;
        return [route.name, { statements: statementsByRole.get(fn.Properties.Role['Fn::GetAtt'][0]) ?? [], env: fn.Properties.Environment.Variables }];
      }),
  );
}

let off: Record<string, Resource>;
let on: Record<string, Resource>;
beforeAll(() => {
  off = synth();
  on = synth(true);
}, 180_000);

const puts = (statements: any[]) => statements.filter((s) => [s.Action].flat().includes('events:PutEvents'));

describe('audit events in EventBridge', () => {
  it('are off by default: no bus, no rule, no function may put events', () => {
    const resources = off;
    expect(ofType(resources, 'AWS::Events::EventBus')).toHaveLength(0);
    expect(ofType(resources, 'AWS::Events::Rule')).toHaveLength(0);
    for (const [name, fn] of functionsByRoute(resources)) {
      expect(puts(fn.statements), name).toEqual([]);
      expect(fn.env.AUDIT_EVENT_BUS, name).toBeUndefined();
    }
  });

  it('when enabled, a bus and a rule that keeps every twofold event in a retained log group, named anew each time it is created', () => {
    const resources = on;
    const [[busId, bus]] = ofType(resources, 'AWS::Events::EventBus') as [[string, Resource]];
    expect(bus.Properties.Name).toBe('Twofold-audit');
    const [[, rule]] = ofType(resources, 'AWS::Events::Rule') as [[string, Resource]];
    expect(rule.Properties.EventBusName).toEqual({ Ref: busId });
    expect(rule.Properties.EventPattern).toEqual({ source: ['twofold'] });
    const [target] = rule.Properties.Targets;
    // EventBridge delivers under /aws/events/; the rest of the name is CloudFormation's generated name of a
    // parameter created and deleted with it, so a trail left by a rollback, a destroy or turning the option
    // off never meets its successor's name.
    const [[suffixId, suffix]] = ofType(resources, 'AWS::SSM::Parameter') as [[string, Resource]];
    expect(suffix.Properties.Name).toBeUndefined();
    expect((suffix as { DeletionPolicy?: string }).DeletionPolicy).toBeUndefined();
    const trail = ofType(resources, 'AWS::Logs::LogGroup').find(([, g]) => JSON.stringify(g.Properties.LogGroupName) === JSON.stringify({ 'Fn::Join': ['', ['/aws/events/Twofold-audit/', { Ref: suffixId }]] }))!;
    expect(trail).toBeDefined();
    expect(JSON.stringify(target.Arn)).toContain(trail[0]);
    expect(trail[1].Properties.RetentionInDays).toBe(365);
    expect(trail[1]).toMatchObject({ DeletionPolicy: 'Retain' });
    expect(retainedFixedNames(resources)).toEqual([]);
    expect(Template.fromStack(stacks.on!).toJSON().Outputs.AuditTrailLogGroupName.Value).toEqual({ Ref: trail[0] });
    expect(ofType(resources, 'AWS::Logs::ResourcePolicy')).toHaveLength(1);
    // No custom-resource Lambda of its own: only the route functions, the delivery sender and the deploy-time public keys reader exist.
    expect(ofType(resources, 'AWS::Lambda::Function')).toHaveLength(routes.length + 2);
  });

  it('when enabled, exactly the emitting routes may put events, on the audit bus only, and know its name', () => {
    const resources = on;
    const [[busId]] = ofType(resources, 'AWS::Events::EventBus') as [[string, Resource]];
    for (const [name, fn] of functionsByRoute(resources)) {
      const emits = ([...routes, DELIVERY_SENDER] as Array<{ name: string; capabilities?: readonly string[] }>).find((r) => r.name === name)!.capabilities?.includes('audit') ?? false;
      if (emits) {
        expect(puts(fn.statements).map((s) => s.Resource), name).toEqual([{ 'Fn::GetAtt': [busId, 'Arn'] }]);
        expect(fn.env.AUDIT_EVENT_BUS, name).toEqual({ Ref: busId });
      } else {
        expect(puts(fn.statements), name).toEqual([]);
        expect(fn.env.AUDIT_EVENT_BUS, name).toBeUndefined();
      }
    }
  });

  it('bundles the EventBridge client only into the emitting routes of a stack that sends audit events', () => {
    const audits = (stack: TwofoldStack) => Object.fromEntries(stack.endpoints.map((e) => [e.route.name, e.defines['process.env.TWOFOLD_AUDITS']]));
    for (const route of routes) {
      expect(audits(stacks.off!)[route.name], `${route.name} off`).toBe('"false"');
      expect(audits(stacks.on!)[route.name], `${route.name} on`).toBe(route.capabilities?.includes('audit') ? '"true"' : '"false"');
    }
  });

  it('every route that authenticates, verifies, logs out, refreshes, lists sessions, adds or removes a factor, or removes a user is an emitting route', () => {
    const emitting = routes.filter((r) => r.capabilities?.includes('audit')).map((r) => r.name).sort();
    expect(emitting).toEqual(
      [
        'auth-link-authenticate',
        'auth-logout',
        'auth-otp-authenticate',
        'auth-password',
        'auth-recovery-codes-authenticate',
        'auth-recovery-codes-generate',
        'auth-session',
        'auth-token-refresh',
        'auth-totp-authenticate',
        'auth-totp-register',
        'auth-webauthn-authenticate',
        'auth-webauthn-register',
        'auth-webauthn-register-start',
        'oidc-token',
        'users-delete',
        'users-email-verification-verify',
        'users-phone-verification-verify',
        'users-recovery-codes-delete',
        'users-totp-revoke',
        'users-sessions-list',
        'users-sessions-logout',
        'users-update',
        'users-webauthn-credentials-delete',
      ].sort(),
    );
  });
});
