import type { APIGatewayProxyStructuredResultV2, LambdaFunctionURLEvent } from 'aws-lambda';
import { AwsClusters } from '../../shared/aws/aws-clusters.ts';
import { receiveWebhook } from '../../shared/receiver/receive.ts';
import { openAws, type AwsInstall } from '../../shared/serverless/aws-install.ts';

let install: AwsInstall | undefined;

/** POST /hook/<digest> from GitHub, GitLab, Bitbucket or any generic sender, through the Function URL. */
export async function handler(event: LambdaFunctionURLEvent): Promise<APIGatewayProxyStructuredResultV2> {
  // Clusters only for a token kept in the cluster's own Secret (Tide's secret store comes first).
  install ??= openAws('tide-receiver', { clusters: (blobs) => new AwsClusters(blobs, {}) });
  const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  try {
    const res = await receiveWebhook(install.ctx, event.rawPath, { method: event.requestContext.http.method, headers: event.headers, body }, { maxBodyBytes: install.settings.maxWebhookBytes });
    return { statusCode: res.status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: res.body + '\n' };
  } catch (err) {
    install.ctx.log.error(`webhook ${event.rawPath.slice(0, 80)} failed: ${(err as Error).message}`);
    return { statusCode: 500, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'internal error; see the receiver function\'s log\n' };
  }
}
