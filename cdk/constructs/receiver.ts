import { CfnOutput, Duration } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { TideFunction, type TideFunctionOptions } from './tide-function.ts';

/** Lambda's largest synchronous request payload, the most a Function URL can hand the handler. */
const LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024;

export interface ReceiverProps extends TideFunctionOptions {
  /** The state bucket (read only: the receiver looks up Receivers, never writes). */
  readonly bucket: s3.IBucket;
  /** The `tide` bus the receiver sends `Reconcile Requested` to. */
  readonly bus: events.IEventBus;
  /**
   * Secrets Manager name prefix of the webhook tokens and HMAC keys (Receiver `secretRef`s).
   * @default 'tide/'
   */
  readonly secretsPrefix?: string;
  /**
   * Concurrent executions reserved for (and limited to) the receiver, so a flood of requests to
   * its public URL cannot starve Tide's other functions or the account. Lambda keeps 100
   * executions of the account's quota unreserved, so the deploy fails on an account whose quota
   * is below 110 (new accounts may start at 10): ask for a higher quota first.
   * @default 10
   */
  readonly reservedConcurrency?: number;
  /**
   * Largest webhook body accepted, in bytes (`TIDE_MAX_WEBHOOK_BYTES`), at most Lambda's 6 MB.
   * @default 4 MiB
   */
  readonly maxWebhookBytes?: number;
}

/**
 * The webhook receiver: a Tide function behind a Lambda Function URL (`POST /hook/<digest>`).
 *
 * The URL's auth type is NONE on purpose: GitHub, GitLab, Bitbucket, Harbor and the other
 * senders of Flux's Receiver types cannot sign AWS SigV4 requests. The handler itself checks each
 * request's HMAC signature or token against the Receiver's secret before emitting anything, and
 * refuses bodies over `maxWebhookBytes`; reserved concurrency bounds what a flood can cost.
 * The URL is a stack output.
 */
export class Receiver extends Construct {
  readonly function: TideFunction;
  readonly url: lambda.FunctionUrl;
  /** The URL as a stack output (logical id chosen by the stack). */
  readonly urlOutput: CfnOutput;

  constructor(scope: Construct, id: string, props: ReceiverProps) {
    super(scope, id);
    const reserved = props.reservedConcurrency ?? 10;
    if (!Number.isInteger(reserved) || reserved < 1) {
      throw new Error(`Receiver ${id}: reservedConcurrency must be a whole number, at least 1 (got ${reserved}; 0 would refuse every webhook)`);
    }
    const maxBytes = props.maxWebhookBytes ?? 4 * 1024 * 1024;
    if (!Number.isInteger(maxBytes) || maxBytes < 1 || maxBytes > LAMBDA_PAYLOAD_LIMIT) {
      throw new Error(`Receiver ${id}: maxWebhookBytes must be a whole number from 1 to ${LAMBDA_PAYLOAD_LIMIT} (Lambda's payload limit; got ${maxBytes})`);
    }
    this.function = new TideFunction(this, 'Function', {
      ...props,
      name: 'receiver',
      timeout: props.timeout ?? Duration.seconds(15),
      description: 'Tide receiver: checks a webhook, requests a reconcile of the sources it names',
      stateAccess: 'read',
      secretsPrefix: props.secretsPrefix ?? 'tide/',
      reservedConcurrentExecutions: reserved,
      environment: { ...props.environment, TIDE_MAX_WEBHOOK_BYTES: String(maxBytes) },
    });
    this.url = this.function.fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    this.urlOutput = new CfnOutput(this, 'Url', {
      value: this.url.url,
      description: 'Tide receiver: point webhooks at <url>hook/<digest> (the digest is in the Receiver status)',
    });
  }
}
