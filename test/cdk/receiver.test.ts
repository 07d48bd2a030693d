import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Receiver } from '../../cdk/constructs/receiver.ts';
import { actionsOf, FIXTURE_HANDLER, givenStack, granting, logicalId, statementsOf } from './fixtures/given.ts';

describe('cdk: Receiver', () => {
  it('is public through a Function URL with auth NONE (the handler checks HMAC/token) and outputs it', () => {
    // GIVEN
    const { stack, bucket, bus } = givenStack();
    // WHEN
    const r = new Receiver(stack, 'Receiver', { entry: FIXTURE_HANDLER, bucket, bus });
    // THEN
    const t = Template.fromStack(stack);
    const fn = { 'Fn::GetAtt': [logicalId(r.function.fn), 'Arn'] };
    t.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE', TargetFunctionArn: fn });
    t.hasResourceProperties('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunctionUrl', FunctionUrlAuthType: 'NONE', Principal: '*', FunctionName: fn });
    t.hasResourceProperties('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunction', InvokedViaFunctionUrl: true, Principal: '*', FunctionName: fn });
    const outputs = t.findOutputs('*', { Value: { 'Fn::GetAtt': [logicalId(r.url), 'FunctionUrl'] } });
    assert.equal(Object.keys(outputs).length, 1);
  });

  it('reserves 10 executions and sets the webhook size limit and the secrets prefix', () => {
    const { stack, bucket, bus } = givenStack();
    new Receiver(stack, 'Receiver', { entry: FIXTURE_HANDLER, bucket, bus });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 1024,
      Timeout: 15,
      ReservedConcurrentExecutions: 10,
      Layers: Match.absent(),
      Environment: {
        Variables: {
          TIDE_BUCKET: { Ref: logicalId(bucket) },
          TIDE_EVENT_BUS: { Ref: logicalId(bus) },
          TIDE_SECRETS_PREFIX: 'tide/',
          TIDE_MAX_WEBHOOK_BYTES: String(4 * 1024 * 1024),
        },
      },
    });
  });

  it('reads the state bucket only, reads secrets under its prefix, and sends events', () => {
    const { stack, bucket, bus } = givenStack();
    const r = new Receiver(stack, 'Receiver', { entry: FIXTURE_HANDLER, bucket, bus, secretsPrefix: 'hooks/', reservedConcurrency: 3, maxWebhookBytes: 1024 });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 3,
      Environment: { Variables: { TIDE_SECRETS_PREFIX: 'hooks/', TIDE_MAX_WEBHOOK_BYTES: '1024' } },
    });
    const statements = statementsOf(t, r.function.fn);
    assert.deepEqual(actionsOf(statements).sort(), ['events:PutEvents', 's3:GetObject', 's3:ListBucket', 'secretsmanager:GetSecretValue']);
    assert.deepEqual(granting(statements, 'secretsmanager:GetSecretValue').map((s) => s.Resource), [
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':secret:hooks/*']] },
    ]);
  });

  it('names the prop to change when it is impossible', () => {
    const { stack, bucket, bus } = givenStack();
    const base = { entry: FIXTURE_HANDLER, bucket, bus };
    assert.throws(() => new Receiver(stack, 'A', { ...base, reservedConcurrency: 0 }), /Receiver A: reservedConcurrency must be/);
    assert.throws(() => new Receiver(stack, 'B', { ...base, maxWebhookBytes: 7 * 1024 * 1024 }), /Receiver B: maxWebhookBytes must be/);
    assert.throws(() => new Receiver(stack, 'C', { ...base, secretsPrefix: '' }), /TideFunction Test\/C\/Function: secretsPrefix "" must be/);
    assert.throws(() => new Receiver(stack, 'D', { ...base, memorySize: 20000 }), /TideFunction Test\/D\/Function: memorySize must be/);
  });
});
