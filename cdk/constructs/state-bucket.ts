import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface StateBucketProps {
  /**
   * Days an overwritten or deleted version of a state object (status, inventory, an old artifact)
   * is kept before S3 expires it. Versions let an operator read what Tide wrote before.
   * @default 30
   */
  readonly noncurrentVersionExpirationDays?: number;
  /**
   * What happens to the bucket when the stack is deleted. State outlives a stack by default.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The one bucket of Tide's state: control objects, status, inventories, leases and artifacts,
 * all under `clusters/<name>/`. Versioned (status is compare-and-swap on the ETag, and old
 * versions are a record), encrypted, never public, TLS only.
 */
export class StateBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StateBucketProps = {}) {
    super(scope, id);
    const days = props.noncurrentVersionExpirationDays ?? 30;
    if (!Number.isInteger(days) || days < 1) {
      throw new Error(`StateBucket ${id}: noncurrentVersionExpirationDays must be a whole number of days, at least 1 (got ${days})`);
    }
    this.bucket = new s3.Bucket(this, 'Bucket', {
      versioned: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      eventBridgeEnabled: true,
      lifecycleRules: [
        { id: 'expire-old-versions', noncurrentVersionExpiration: Duration.days(days), abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
  }
}
