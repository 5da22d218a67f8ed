// A target for the runner's own tests: a test endpoint launched by the command its config gives,
// never probed for a version, with the expected failures a test chooses.
import { type Target, type TargetConfig, unprobed } from '../../src/targets/config.js';

export function testTarget(
  name: string,
  config: Partial<TargetConfig>,
  expectedFailures: Target['expectedFailures'] = new Map(),
): Target {
  return {
    config: {
      name,
      description: name,
      mtu: 1400,
      capabilities: { zeroRtt: true, pingInHandshakeReply: true },
      ...config,
    },
    dir: process.cwd(),
    expectedFailures,
    implementation: unprobed('a test endpoint'),
    attached: null,
  };
}
