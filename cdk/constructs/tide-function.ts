import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** The repository's root (where package.json and package-lock.json are), whatever the cwd. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Left out of every bundle: native addons (see the bundling options below). */
/**
 * Prepended to every bundle: CommonJS dependencies bundled into ESM still call require() for
 * Node's built-ins, and some read __dirname at load time (ssh2's poly1305 and Pageant paths), which
 * ESM does not define.
 */
export const BUNDLE_BANNER =
  "import { createRequire as __tideCreateRequire } from 'module'; import { fileURLToPath as __tideFileURLToPath } from 'url'; import { dirname as __tideDirname } from 'path'; " +
  'const require = __tideCreateRequire(import.meta.url); const __filename = __tideFileURLToPath(import.meta.url); const __dirname = __tideDirname(__filename);';

export const NATIVE_EXTERNALS = ['*.node', 'cpu-features'] as const;

/** The default entry of a Tide function: `functions/<name>/handler.ts` under the repository root. */
export function defaultEntry(name: string): string {
  return join(REPO_ROOT, 'functions', name, 'handler.ts');
}

/**
 * What a Tide function may do with the state bucket.
 * - `read`: s3:GetObject and s3:ListBucket (the receiver).
 * - `readWrite`: also s3:PutObject and s3:DeleteObject (status CAS, leases, artifacts).
 */
export type StateAccess = 'read' | 'readWrite';

/** The tunables of a Tide function, shared by every construct that makes one. */
export interface TideFunctionOptions {
  /**
   * The handler's TypeScript file; it must export `handler`.
   * @default `functions/<name>/handler.ts` under the repository root
   */
  readonly entry?: string;
  /**
   * Memory in MB (CPU grows with it: 1769 MB is one full vCPU).
   * @default 1024
   */
  readonly memorySize?: number;
  /**
   * The longest one invocation may run, at most 15 minutes.
   * @default Duration.minutes(1)
   */
  readonly timeout?: Duration;
  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * More environment variables. The ones of the contract (functions/README.md) that the
   * construct sets itself cannot be overridden here.
   * @default - none
   */
  readonly environment?: Record<string, string>;
}

export interface TideFunctionProps extends TideFunctionOptions {
  /**
   * The function's folder under `functions/` (`receiver`, `scheduler`, `source`, `reconcile`);
   * it names the default entry.
   */
  readonly name: string;
  /** The state bucket: sets `TIDE_BUCKET` and grants `stateAccess` on it. */
  readonly bucket: s3.IBucket;
  /** The `tide` bus: sets `TIDE_EVENT_BUS` and grants events:PutEvents on it. */
  readonly bus: events.IEventBus;
  /**
   * What the function may do with the state bucket.
   * @default 'readWrite'
   */
  readonly stateAccess?: StateAccess;
  /**
   * Secrets Manager name prefix of Tide's secrets: sets `TIDE_SECRETS_PREFIX` and grants
   * secretsmanager:GetSecretValue on `arn:<partition>:secretsmanager:<region>:<account>:secret:<prefix>*`.
   * Secrets encrypted with a customer-managed KMS key also need kms:Decrypt, which is not granted.
   * @default - no access to secrets, no `TIDE_SECRETS_PREFIX`
   */
  readonly secretsPrefix?: string;
  /**
   * Lambda layers (the kubectl/helm layer for the functions that render and apply).
   * @default - none
   */
  readonly layers?: lambda.ILayerVersion[];
  /**
   * Concurrent executions kept for (and limited to) this function.
   * @default - no reservation: the account's unreserved pool
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Where failed asynchronous invocations go, after `retryAttempts`.
   * @default - none
   */
  readonly deadLetterQueue?: sqs.IQueue;
  /**
   * Retries of a failed asynchronous invocation (0 to 2).
   * @default 2 (Lambda's own default)
   */
  readonly retryAttempts?: number;
  /**
   * A line on what the function does, shown in the console.
   * @default - none
   */
  readonly description?: string;
}

/**
 * One of Tide's Lambda functions: Node.js 22 on arm64, bundled by the local esbuild into one ESM
 * file (minified, with a source map), JSON logs kept a month, the contract's environment, least
 * privilege on the state bucket, bus and secrets, and an alarm on errors.
 *
 * Bundling: everything is bundled, the AWS SDK v3 clients included, so Lambda runs exactly the
 * SDK versions the tests ran (S3 conditional writes need a recent client) and the cold start
 * loads one tree-shaken file instead of resolving the runtime's full SDK. Only native addons are
 * left out (`NATIVE_EXTERNALS`): they are optional, and built for the wrong machine anyway.
 * `cdk synth` never needs Docker (`forceDockerBundling: false`, the esbuild devDependency).
 */
export class TideFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly logGroup: logs.LogGroup;
  /** Errors > 0 over 5 minutes. Add an action to be told. */
  readonly errors: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: TideFunctionProps) {
    super(scope, id);
    // The path, not the id: a TideFunction is often inside a Receiver or Scheduler.
    const who = `TideFunction ${this.node.path}`;
    const { name } = props;
    if (!/^[a-z][a-z0-9-]*$/.test(name)) {
      throw new Error(`${who}: name ${JSON.stringify(name)} must be a folder name under functions/ (lowercase letters, digits, "-")`);
    }
    const entry = props.entry ?? defaultEntry(name);
    if (!existsSync(entry)) {
      throw new Error(`${who}: entry ${entry} does not exist (write it, or pass entry)`);
    }
    const memorySize = props.memorySize ?? 1024;
    if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10240) {
      throw new Error(`${who}: memorySize must be a whole number of MB from 128 to 10240 (got ${memorySize})`);
    }
    const timeout = props.timeout ?? Duration.minutes(1);
    if (!Token.isUnresolved(timeout.toSeconds()) && (timeout.toSeconds() < 1 || timeout.toSeconds() > 900)) {
      throw new Error(`${who}: timeout must be from 1 second to 15 minutes (got ${timeout.toHumanString()})`);
    }
    const reserved = props.reservedConcurrentExecutions;
    if (reserved !== undefined && (!Number.isInteger(reserved) || reserved < 1)) {
      throw new Error(`${who}: reservedConcurrentExecutions must be a whole number, at least 1 (got ${reserved}; 0 would stop the function)`);
    }
    const retryAttempts = props.retryAttempts;
    if (retryAttempts !== undefined && (!Number.isInteger(retryAttempts) || retryAttempts < 0 || retryAttempts > 2)) {
      throw new Error(`${who}: retryAttempts must be 0, 1 or 2 (got ${retryAttempts})`);
    }
    const prefix = props.secretsPrefix;
    if (prefix !== undefined) checkSecretsPrefix(who, prefix);

    const environment: Record<string, string> = {
      TIDE_BUCKET: props.bucket.bucketName,
      TIDE_EVENT_BUS: props.bus.eventBusName,
      ...(prefix !== undefined ? { TIDE_SECRETS_PREFIX: prefix } : {}),
      // Stack traces point into the TypeScript sources through the bundle's source map.
      NODE_OPTIONS: '--enable-source-maps',
    };
    for (const [key, value] of Object.entries(props.environment ?? {})) {
      if (key in environment) {
        throw new Error(`${who}: environment.${key} is set by TideFunction itself; pass the matching prop instead`);
      }
      environment[key] = value;
    }

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.fn = new NodejsFunction(this, 'Function', {
      entry,
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize,
      timeout,
      environment,
      layers: props.layers,
      reservedConcurrentExecutions: reserved,
      deadLetterQueue: props.deadLetterQueue,
      retryAttempts,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: BUNDLE_BANNER,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        bundleAwsSDK: true,
        // Native addons stay out: they would be built for this machine, not Lambda's arm64, and
        // their users fall back to plain JS when require() fails (ssh2's optional sshcrypto.node
        // and cpu-features, both loaded in try/catch).
        externalModules: [...NATIVE_EXTERNALS],
      },
    });

    const statePolicy = stateStatements(props.bucket, props.stateAccess ?? 'readWrite');
    for (const statement of statePolicy) this.fn.addToRolePolicy(statement);
    props.bus.grantPutEventsTo(this.fn);
    if (prefix !== undefined) {
      this.fn.addToRolePolicy(new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secretsArn(this, prefix)],
      }));
    }

    this.errors = new cloudwatch.Alarm(this, 'Errors', {
      alarmDescription: `Tide ${name}: the function failed (Errors > 0 over 5 minutes); see its log group`,
      metric: this.fn.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}

/** Throws unless `prefix` is a usable, non-empty Secrets Manager name prefix. */
export function checkSecretsPrefix(who: string, prefix: string): void {
  if (Token.isUnresolved(prefix)) return;
  if (!/^[A-Za-z0-9/_+=.@-]{1,256}$/.test(prefix)) {
    throw new Error(`${who}: secretsPrefix ${JSON.stringify(prefix)} must be 1-256 of letters, digits and "/_+=.@-" (an empty prefix would grant every secret)`);
  }
}

/** `arn:<partition>:secretsmanager:<region>:<account>:secret:<prefix>*` */
export function secretsArn(scope: Construct, prefix: string): string {
  return Stack.of(scope).formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${prefix}*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** Named actions only (no `s3:*`, no `s3:Get*`): what the handlers call and nothing more. */
function stateStatements(bucket: s3.IBucket, access: StateAccess): iam.PolicyStatement[] {
  const objectActions = access === 'read' ? ['s3:GetObject'] : ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'];
  return [
    // ListBucket also turns a missing key into 404 NoSuchKey instead of 403.
    new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }),
    new iam.PolicyStatement({ actions: objectActions, resources: [bucket.arnForObjects('*')] }),
  ];
}
