import { App } from 'aws-cdk-lib';
import { TideStack } from './tide-stack.ts';

const app = new App();
new TideStack(app, app.node.tryGetContext('stackName') ?? 'Tide', {
  description: 'Tide: a serverless GitOps reconciler',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
app.synth();
