/** Packages whose package.json says they compile an addon (node-gyp or node-pre-gyp). */
export function isNativePackage(pkg: { gypfile?: unknown; binary?: unknown }): boolean {
  return pkg.gypfile === true || (typeof pkg.binary === 'object' && pkg.binary !== null);
}

/**
 * Said by the build (about the installed package) and by the check (about a layer) when the addon
 * is missing: the usual cause is an install whose build script was skipped or failed.
 */
export function missingAddonMessage(packageName: string, where: string): string {
  return [
    `${packageName} has no compiled addon (no build/Release/*.node) in ${where}: its install script was skipped or failed, so the layer would fail at require().`,
    'Fix, then rebuild the layer:',
    `  - offline (as on this project's machines): CKJS_LINKING=dynamic npm_config_nodedir=<node's prefix, e.g. /usr> pnpm rebuild ${packageName}`,
    '    builds librdkafka from source (~3 min; needs g++, make, python3, pkg-config, zlib1g-dev, libssl-dev); ./run sets both variables.',
    `  - where GitHub is reachable: with CKJS_LINKING unset (LAMINAR_KAFKA_PREBUILT=1 for ./run) the install downloads the prebuilt addon from the project's GitHub releases; it serves the workspace's Node, but the layer cannot be built from it (no build/deps/librdkafka.so to link its runtime's addon against).`,
    `  Either way pnpm-workspace.yaml's allowBuilds must say '${packageName}': true, or pnpm skips the install script.`,
  ].join('\n');
}
