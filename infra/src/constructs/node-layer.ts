import { LambdaLayerVersion } from '@cdktf/provider-aws/lib/lambda-layer-version/index.js';
import type { LoadedLayer } from '@laminar/spec';
import { Construct } from 'constructs';
import { readArtifact } from '../artifacts.ts';
import { resourceName } from '../naming.ts';

export interface NodeLayerProps {
  stage: string;
  layer: LoadedLayer;
  stackDir: string;
}

/** A layer version from layers/<name>/dist/<name>.zip: a new version whenever the zip's hash changes. */
export class NodeLayer extends Construct {
  readonly version: LambdaLayerVersion;

  constructor(scope: Construct, id: string, props: NodeLayerProps) {
    super(scope, id);
    const { spec } = props.layer;
    const artifact = readArtifact({ name: `layer ${spec.name}`, ...props.layer }, props.stackDir);
    this.version = new LambdaLayerVersion(this, 'version', {
      layerName: resourceName(props.stage, spec.name, 140),
      ...(spec.description ? { description: spec.description } : {}),
      filename: artifact.filename,
      sourceCodeHash: artifact.sourceCodeHash,
      compatibleRuntimes: spec.runtimes,
      compatibleArchitectures: spec.architectures,
      // Functions pinned to the old version keep working while a new one rolls out.
      skipDestroy: true,
    });
  }

  get arn(): string {
    return this.version.arn;
  }
}
