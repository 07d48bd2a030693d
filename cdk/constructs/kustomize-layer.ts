import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';

const SOURCES = fileURLToPath(new URL('../../tools/kustomize-server/', import.meta.url));

export interface KustomizeLayerProps {
  /**
   * The Go toolchain image used only when `go` is not on this machine's PATH.
   * @default public.ecr.aws/docker/library/golang:1.24
   */
  readonly goImage?: string;
}

/**
 * tide-kustomize for Lambda (arm64), at /opt/tide-kustomize/tide-kustomize where the reconcile
 * function looks for it: builds run in one resident process of the kustomize library instead of
 * starting kubectl for each (about 95 ms of CPU each). Built at synth from tools/kustomize-server
 * with the local Go toolchain (cross-compiled, no Docker), else in the golang image. Without
 * this layer the function falls back to the kubectl layer's `kubectl kustomize`.
 */
export class KustomizeLayer extends lambda.LayerVersion {
  constructor(scope: Construct, id: string, props: KustomizeLayerProps = {}) {
    super(scope, id, {
      description: 'tide-kustomize: the kustomize library (kubectl 1.35) as a resident build server, /opt/tide-kustomize/tide-kustomize',
      compatibleArchitectures: [lambda.Architecture.ARM_64],
      code: lambda.Code.fromAsset(SOURCES, {
        bundling: {
          image: DockerImage.fromRegistry(props.goImage ?? 'public.ecr.aws/docker/library/golang:1.24'),
          command: ['bash', '/asset-input/build.sh', '--arch', 'arm64', '--out', '/asset-output/tide-kustomize'],
          environment: { GOCACHE: '/tmp/go-cache', GOPATH: '/tmp/go' },
          local: {
            tryBundle(outputDir: string): boolean {
              if (spawnSync('go', ['version']).status !== 0) return false;
              execFileSync('bash', [join(SOURCES, 'build.sh'), '--arch', 'arm64', '--out', join(outputDir, 'tide-kustomize')], { stdio: ['ignore', 'ignore', 'inherit'] });
              return true;
            },
          },
        },
      }),
    });
  }
}
