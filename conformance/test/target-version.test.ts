// A target's version probe and its expected failures per version: the file for the version
// the probe reads, the one --expected-failures-for names, or none with the reason, and a
// clear error when a file claims another version than the one it is listed under.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TargetError } from '../src/targets/config.js';
import { type LoadOptions, loadTarget } from '../src/targets/target.js';

const dir = mkdtempSync(join(tmpdir(), 'qotp-target-version-'));
const expectedFile = (release: string, caseId: string) => ({
  target: 'versioned',
  release,
  obtained: 'written by this test',
  entries: [{ case: caseId, reason: `listed for ${release} by this test` }],
});
writeFileSync(join(dir, 'v1.json'), JSON.stringify(expectedFile('v1.0.0', 'streams.ping')));
writeFileSync(join(dir, 'v2.json'), JSON.stringify(expectedFile('v2.0.0', 'streams.ack-fields')));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A target file whose version command prints `printed`. */
function versioned(printed: string, extra: object = {}, options: LoadOptions = {}) {
  const path = join(dir, `target-${Math.random().toString(36).slice(2)}.json`);
  const config = {
    name: 'versioned',
    description: 'a target of this test',
    mtu: 1400,
    capabilities: { zeroRtt: false, pingInHandshakeReply: false },
    version: {
      command: ['{node}', '-e', `process.stdout.write(${JSON.stringify(printed)})`],
      pattern: '^impl (?<version>\\S+)$',
      source: 'the test probe',
    },
    expectedFailures: { 'v1.0.0': 'v1.json', 'v2.0.0': 'v2.json' },
    ...extra,
  };
  writeFileSync(path, JSON.stringify(config));
  return loadTarget(path, options);
}

describe('version probe', () => {
  it('picks the expected failures of the version it reads', () => {
    const t = versioned('build info\nimpl v2.0.0\n');
    expect(t.implementation).toEqual({
      version: 'v2.0.0',
      versionSource: 'the test probe',
      expectedFailuresFile: 'v2.json',
      expectedFailuresNote: 'for the version found',
    });
    expect([...t.expectedFailures.keys()]).toEqual(['streams.ack-fields']);
  });

  it('uses none for a version without a file, says so, and --expected-failures-for overrides', () => {
    const devel = versioned('impl (devel)\n');
    expect(devel.implementation.version).toBe('(devel)');
    expect(devel.expectedFailures.size).toBe(0);
    expect(devel.implementation.expectedFailuresNote).toBe(
      'no expected failures: there is none for (devel); there are files for v1.0.0, v2.0.0 ' +
        '(--expected-failures-for VERSION picks one); every failure counts',
    );
    const chosen = versioned('impl (devel)\n', {}, { expectedFailuresFor: 'v1.0.0' });
    expect([...chosen.expectedFailures.keys()]).toEqual(['streams.ping']);
    expect(chosen.implementation.expectedFailuresNote).toBe(
      'chosen by --expected-failures-for although the version found is (devel)',
    );
  });

  it('reports a probe that prints nothing matching, or cannot run, instead of guessing', () => {
    const unmatched = versioned('something else');
    expect(unmatched.implementation.version).toBeNull();
    expect(unmatched.implementation.versionSource).toBe(
      'the test probe printed nothing that matches /^impl (?<version>\\S+)$/: something else',
    );
    expect(unmatched.implementation.expectedFailuresNote).toMatch(
      /^no expected failures: the version is unknown \(the test probe printed nothing/,
    );
    const missing = versioned('', { version: { command: [join(dir, 'no-such-program')], pattern: '(?<version>.+)' } });
    expect(missing.implementation.versionSource).toMatch(/no-such-program could not run: spawnSync .* ENOENT/);
  });

  it('rejects an expected-failures file listed under another version than its own', () => {
    expect(() => versioned('impl v1.0.0', { expectedFailures: { 'v1.0.0': 'v2.json' } })).toThrow(TargetError);
    expect(() => versioned('impl v1.0.0', { expectedFailures: { 'v1.0.0': 'v2.json' } })).toThrow(
      /v2\.json says it is for v2\.0\.0, but .* lists it under another version/,
    );
  });

  it('keeps a single expected-failures file whatever the version', () => {
    const t = versioned('impl v9.9.9', { expectedFailures: 'v1.json' });
    expect([
      t.implementation.version,
      t.implementation.expectedFailuresFile,
      t.implementation.expectedFailuresNote,
    ]).toEqual(['v9.9.9', 'v1.json', null]);
  });
});
