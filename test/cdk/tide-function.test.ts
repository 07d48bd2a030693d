import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { BUNDLE_BANNER, defaultEntry, REPO_ROOT, TideFunction } from '../../cdk/constructs/tide-function.ts';
import { actionsOf, FIXTURE_HANDLER, givenStack, granting, logicalId, stagedBundle, statementsOf } from './fixtures/given.ts';

describe('cdk: TideFunction', () => {
  it('is Node.js 22 on arm64 with 1 GB, JSON logs kept a month, and the contract environment', () => {
    // GIVEN
    const { stack, bucket, bus } = givenStack();
    // WHEN
    const f = new TideFunction(stack, 'Source', { name: 'source', entry: FIXTURE_HANDLER, bucket, bus });
    // THEN
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 1024,
      Timeout: 60,
      Handler: 'index.handler',
      LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: logicalId(f.logGroup) } },
      Environment: {
        Variables: Match.exact({
          TIDE_BUCKET: { Ref: logicalId(bucket) },
          TIDE_EVENT_BUS: { Ref: logicalId(bus) },
          NODE_OPTIONS: '--enable-source-maps',
        }),
      },
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('bundles one minified ESM file with a source map, the require/__dirname banner, and it loads', async () => {
    const { stack, bucket, bus } = givenStack();
    const f = new TideFunction(stack, 'Source', { name: 'source', entry: FIXTURE_HANDLER, bucket, bus });
    const dir = stagedBundle(f.fn);
    const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
    assert.ok(code.startsWith(BUNDLE_BANNER), code.slice(0, 200));
    const loaded = (await import(pathToFileURL(join(dir, 'index.mjs')).href)) as { handler?: unknown };
    assert.equal(typeof loaded.handler, 'function', 'the bundle loads as ESM and exports handler');
    assert.match(code, /export\s*\{/, 'ESM output exports the handler');
    assert.ok(existsSync(join(dir, 'index.mjs.map')), 'a source map beside the bundle');
  });

  it('raises an alarm on any error over 5 minutes', () => {
    const { stack, bucket, bus } = givenStack();
    const f = new TideFunction(stack, 'Source', { name: 'source', entry: FIXTURE_HANDLER, bucket, bus });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(f.fn) } }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    assert.equal(logicalId(f.errors), Object.keys(t.findResources('AWS::CloudWatch::Alarm'))[0]);
  });

  it('grants named S3 actions on the state bucket and PutEvents on the bus, no wildcard action', () => {
    const { stack, bucket, bus } = givenStack();
    const f = new TideFunction(stack, 'Source', { name: 'source', entry: FIXTURE_HANDLER, bucket, bus });
    const statements = statementsOf(Template.fromStack(stack), f.fn);
    assert.deepEqual(granting(statements, 's3:ListBucket').map((s) => s.Resource), [{ 'Fn::GetAtt': [logicalId(bucket), 'Arn'] }]);
    const objects = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(bucket), 'Arn'] }, '/*']] };
    for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']) {
      assert.deepEqual(granting(statements, action).map((s) => s.Resource), [objects], action);
    }
    assert.deepEqual(granting(statements, 'events:PutEvents').map((s) => s.Resource), [{ 'Fn::GetAtt': [logicalId(bus), 'Arn'] }]);
    assert.deepEqual(actionsOf(statements).filter((a) => a.includes('*')), []);
    assert.deepEqual(granting(statements, 'secretsmanager:GetSecretValue'), [], 'no secrets unless secretsPrefix');
  });

  it('takes memory, timeout, read-only state, a secrets prefix, layers and reserved concurrency', () => {
    // GIVEN
    const { stack, bucket, bus } = givenStack();
    const layer = lambda.LayerVersion.fromLayerVersionArn(stack, 'Layer', 'arn:aws:lambda:us-east-1:123456789012:layer:tools:1');
    // WHEN
    const f = new TideFunction(stack, 'Receiver', {
      name: 'receiver',
      entry: FIXTURE_HANDLER,
      bucket,
      bus,
      memorySize: 1769,
      timeout: Duration.seconds(20),
      stateAccess: 'read',
      secretsPrefix: 'fleet/',
      layers: [layer],
      reservedConcurrentExecutions: 5,
      logRetention: logs.RetentionDays.ONE_WEEK,
      environment: { EXTRA: '1' },
    });
    // THEN
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 1769,
      Timeout: 20,
      ReservedConcurrentExecutions: 5,
      Layers: ['arn:aws:lambda:us-east-1:123456789012:layer:tools:1'],
      Environment: { Variables: { TIDE_SECRETS_PREFIX: 'fleet/', EXTRA: '1' } },
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    const statements = statementsOf(t, f.fn);
    assert.deepEqual(actionsOf(statements).filter((a) => a.startsWith('s3:')).sort(), ['s3:GetObject', 's3:ListBucket']);
    assert.deepEqual(granting(statements, 'secretsmanager:GetSecretValue').map((s) => s.Resource), [
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':secret:fleet/*']] },
    ]);
  });

  it('defaults its entry to functions/<name>/handler.ts under the repository root', () => {
    assert.equal(defaultEntry('reconcile'), join(REPO_ROOT, 'functions', 'reconcile', 'handler.ts'));
    assert.ok(existsSync(join(REPO_ROOT, 'package.json')));
  });

  it('names the prop to change when it is impossible', () => {
    const { stack, bucket, bus } = givenStack();
    const base = { name: 'source', entry: FIXTURE_HANDLER, bucket, bus };
    const cases: Array<[string, Partial<typeof base> & Record<string, unknown>, RegExp]> = [
      ['A', { name: 'Source' }, /TideFunction Test\/A: name "Source" must be/],
      ['B', { entry: join(REPO_ROOT, 'functions', 'nope', 'handler.ts') }, /TideFunction Test\/B: entry .*nope.* does not exist/],
      ['C', { memorySize: 64 }, /TideFunction Test\/C: memorySize must be/],
      ['D', { timeout: Duration.minutes(16) }, /TideFunction Test\/D: timeout must be/],
      ['E', { reservedConcurrentExecutions: 0 }, /TideFunction Test\/E: reservedConcurrentExecutions must be/],
      ['F', { retryAttempts: 3 }, /TideFunction Test\/F: retryAttempts must be/],
      ['G', { secretsPrefix: '' }, /TideFunction Test\/G: secretsPrefix "" must be/],
      ['H', { secretsPrefix: 'tide/*' }, /TideFunction Test\/H: secretsPrefix "tide\/\*" must be/],
      ['I', { environment: { TIDE_BUCKET: 'x' } }, /TideFunction Test\/I: environment.TIDE_BUCKET is set by TideFunction/],
    ];
    for (const [id, props, error] of cases) {
      assert.throws(() => new TideFunction(stack, id, { ...base, ...props }), error, id);
    }
  });
});
