// A pass must mean the endpoint did it. Endpoints broken in ways no case was written for -
// silent, silent after the handshake, packets that never authenticate, the tester's own
// packets sent back, another payload layout, datagrams far above the MTU, and clients that
// exit at once, crash or send garbage - each run against every case of their role, side by
// side. None may pass a case; each line of the output says how many cases it failed.
import { spec } from '@qotp/spec';
import { describe, expect, it } from 'vitest';
import { allCases } from '../src/cases/index.js';
import { runCases, type CaseResult } from '../src/runner.js';
import type { TargetConfig } from '../src/targets/config.js';
import { endpointCommand } from './support/endpoints.js';
import { testTarget } from './support/test-target.js';
import type { Defect } from './support/planted-defects.js';
import type { Mode } from './support/hostile-endpoint.js';

const defective = endpointCommand('defective-endpoint');
const hostile = endpointCommand('hostile-endpoint');

const server = (defect: Defect): Partial<TargetConfig> => ({
  server: { command: [...defective, '--defect', defect], sinkArgs: [] },
});
const client = (mode: Mode): Partial<TargetConfig> => ({
  client: { command: [...hostile, '--mode', mode, '--peer', '{peer}'], zeroRttArgs: [] },
});

const broken: [string, Partial<TargetConfig>][] = [
  ['silent server', { server: { command: [...hostile, '--mode', 'silent'], sinkArgs: [] } }],
  ['server silent after the handshake', server('silent-after-handshake')],
  ['server whose packets carry the wrong direction bit', server('all-wrong-direction-bit')],
  ['server sealing with a key of its own', server('wrong-key')],
  ['server that reflects datagrams', server('reflector')],
  ['server of another payload layout', server('other-layout')],
  ['server of 65,488-byte datagrams', server('oversized')],
  ['client that exits at once', { client: { command: [...hostile, '--mode', 'client-exits'], zeroRttArgs: [] } }],
  ['client that crashes after its first packet', client('client-crash-after-first')],
  ['client that sends garbage', client('client-garbage')],
];

/**
 * Cases a broken endpoint may pass, with why: what they check was done. A server silent after
 * the handshake still sends its replies, and these cases judge nothing else.
 */
const conformingPasses: Record<string, Record<string, string>> = {
  'server silent after the handshake': {
    'handshake.responder-progress': 'the 0-RTT reply (InitCryptoRcv) carries the echo, which is all the case waits for',
    'handshake.init-snd-short':
      'a short InitSnd is dropped and a full one answered with an InitRcv: both done by the reply alone',
    'handshake.init-crypto-snd-short': 'the same for a short InitCryptoSnd',
    'robustness.oversized-init-snd': 'an over-long InitSnd is answered with an InitRcv, which is all the case asks',
    'payload.largest-data-0rtt':
      'the 0-RTT reply carries the echo of a full InitCryptoSnd, the largest data it sends, within the size ' +
      'the case checks',
  },
};

const results = new Map<string, CaseResult[]>();

describe('soundness: broken endpoints pass no case', () => {
  it('runs every case of its role against each broken endpoint, side by side', async () => {
    const started = performance.now();
    await Promise.all(
      broken.map(async ([name, config]) => {
        const role = config.server === undefined ? 'client' : 'server';
        const cases = allCases.filter((c) => c.role === role);
        // A failure by time-out is as much a failure as any: short limits keep the matrix quick.
        const r = await runCases(cases, testTarget(name, config), {
          caseTimeoutMs: 12_000,
          deadline: performance.now() + 150_000,
          concurrency: name.includes('after the handshake') ? 6 : 4,
          artifactsDir: null,
          seed: 2843780662,
        });
        results.set(name, r);
      }),
    );
    console.log(
      `soundness: ${broken.length} broken endpoints in ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
  }, 200_000);

  it.each(broken.map(([name]) => [name]))('%s passes no case', (name) => {
    const r = results.get(name) as CaseResult[];
    const count = (o: string) => r.filter((x) => x.outcome === o).length;
    console.log(
      `soundness: ${name}: ${count('fail')} failed, ${count('timeout')} timed out, ${count('harness-error')} ` +
        `harness errors, ${count('unsupported')} unsupported, ${count('pass')} passed of ${r.length}`,
    );
    const allowed = conformingPasses[name] ?? {};
    expect(
      r
        .filter((x) => x.outcome === 'pass' && allowed[x.id] === undefined)
        .map((x) => `${x.id}: ${x.notes.join(' | ').slice(0, 300)}`),
    ).toEqual([]);
    expect(r.filter((x) => x.outcome === 'harness-error').map((x) => `${x.id}: ${x.message}`)).toEqual([]);
    // A failure must be the endpoint's behaviour, not a server the test machine could not start.
    expect(r.filter((x) => x.failedClause === 'harness.server-ready').map((x) => `${x.id}: ${x.message}`)).toEqual([]);
  });

  it('the oversized endpoint is diagnosed by its datagram size', () => {
    const r = results.get('server of 65,488-byte datagrams') as CaseResult[];
    expect(r.map((x) => x.message ?? '').join('\n')).toMatch(/65488 bytes, more than the declared MTU of 1400/);
  });

  it(
    "the endpoint of another payload layout is recognised as the next revision's (spec.next), under the version " +
      'rule it breaks',
    () => {
      const r = results.get('server of another payload layout') as CaseResult[];
      const recognised = r.filter(
        (x) =>
          x.failedClause === 'payload.header.version' &&
          (x.message ?? '').includes(`by the layout of the upstream main branch at ${spec.next?.revision}`),
      );
      expect(
        recognised.length,
        r.map((x) => `${x.id}: ${x.failedClause} ${x.message?.slice(0, 200)}`).join('\n'),
      ).toBeGreaterThan(r.length / 2);
    },
  );

  it('the crashing client fails under crypto.receive.no-crash where its InitSnd was enough to pass before', () => {
    const r = results.get('client that crashes after its first packet') as CaseResult[];
    const giveUp = r.find((x) => x.id === 'client.handshake-give-up') as CaseResult;
    expect(giveUp.outcome).toBe('fail');
  });
});
