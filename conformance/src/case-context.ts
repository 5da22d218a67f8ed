// The context a case runs in: its tester peers, the record of its checks, timings, notes
// and datagrams, and the measure of the tester's own timing uncertainty. Shared by the
// runner's own thread and the worker that runs timing cases in isolation.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { CaseContext, Check, ClientRun, Measurement, Observation, RelayCapture } from './kit/case.js';
import { CheckFailure } from './kit/case.js';
import { explainViolation, monitor } from './monitor.js';
import { Timeout } from './verdict.js';
import type { Datagram } from './capture/datagram.js';
import { PeerConnection } from './peer/peer-connection.js';
import { NO_OWNER, TesterPeer } from './peer/tester-peer.js';

export interface CaseRecord {
  checks: Check[];
  measurements: Measurement[];
  notes: string[];
  timeline: Datagram[];
  /** Datagrams of the endpoint that authenticated and decoded on a path the tester does not record (a relay's). */
  relayedAuthentic: number;
  /** The longest the tester's event loop was held up during the case (ms): how late it may have noticed a datagram. */
  loopStallMs: number;
  /** The protocol monitor's findings in relay records (ctx.monitorRelay): the first violation of each. */
  relayViolations: { clause: string; message: string }[];
  /**
   * The last relay record judged, with the key log lines that open it: the capture of a case whose tester records
   * nothing.
   */
  relayCapture: RelayCapture | null;
}

export const emptyRecord = (): CaseRecord => ({
  checks: [],
  measurements: [],
  notes: [],
  timeline: [],
  relayedAuthentic: 0,
  loopStallMs: 0,
  relayViolations: [],
  relayCapture: null,
});

/** How many datagrams of the endpoint authenticated and decoded in a case, on any path. */
export const authenticFromEndpoint = (r: CaseRecord): number =>
  r.relayedAuthentic + r.timeline.filter((d) => d.direction === 'in' && d.decoded !== null).length;

/** What only the runner's thread can offer: the launched processes. */
export interface ProcessHooks {
  endpointOutput(): string;
  endpointKeyLog(): string;
  startClient: CaseContext['startClient'];
}

/** Sampling interval of the event-loop delay; a stall shows up to one interval shorter than it was. */
const LOOP_SAMPLE_MS = 5;

export function caseContext(
  record: CaseRecord,
  endpoint: CaseContext['endpoint'],
  hooks: ProcessHooks,
  seed: number,
  runs = 1,
) {
  const peers: TesterPeer[] = [];
  const epoch = performance.now();
  // How late the tester may notice a datagram: the longest its event loop was held up.
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
  loopDelay.enable();
  const stallMs = () => loopDelay.max / 1e6 + LOOP_SAMPLE_MS;
  const ctx: CaseContext = {
    endpoint,
    seed,
    runs,
    endpointOutput: () => hooks.endpointOutput(),
    endpointKeyLog: () => hooks.endpointKeyLog(),
    startClient: (o): Promise<ClientRun> => hooks.startClient(o),
    async peer(o = {}) {
      const p = await TesterPeer.open({
        target: endpoint.address,
        timeline: record.timeline,
        epoch,
        mtu: endpoint.mtu,
        ...(o.ipv6 === undefined ? {} : { ipv6: o.ipv6 }),
      });
      peers.push(p);
      return p;
    },
    expect(clause, ok, message, observation) {
      record.checks.push({ clause, ok, message: ok ? null : message });
      if (!ok) throw explained(record.timeline, clause, message, observation ?? null);
    },
    measure(m) {
      record.measurements.push(m);
      return m.measuredMs !== null && m.measuredMs >= m.lowMs && m.measuredMs <= m.highMs;
    },
    timingUncertaintyMs: () => stallMs(),
    note(text) {
      record.notes.push(text);
    },
    inconclusive(message) {
      throw new Timeout(`no verdict: ${message}`);
    },
    endpointTookPart(datagrams) {
      record.relayedAuthentic += datagrams;
    },
    monitorRelay(timeline, label, capture) {
      record.relayCapture = capture;
      const v = monitor(timeline, endpoint.mtu, stallMs());
      if (v !== null)
        record.relayViolations.push({
          clause: v.clause,
          message: `${label}${explainViolation(v)} (in the relay's record)`,
        });
    },
  };
  return {
    ctx,
    peers,
    close() {
      record.loopStallMs = stallMs();
      loopDelay.disable();
      for (const p of peers) p.close();
      const unrecorded = peers.reduce((n, p) => n + p.unrecorded, 0);
      if (unrecorded > 0)
        record.notes.push(`${unrecorded} datagrams from the endpoint were not recorded: the case's timeline was full`);
    },
  };
}

let warm = false;
/**
 * The first X25519 and AEAD operations run unoptimised JavaScript and hold the event loop
 * for a few hundred milliseconds; doing them before any case starts keeps that stall out
 * of the timings the first cases measure.
 */
export function warmUp(): void {
  if (warm) return;
  warm = true;
  const server = new PeerConnection('responder');
  for (let i = 0; i < 20; i++) {
    const client = new PeerConnection('initiator', { peerIdentityPublicKey: server.identityPublicKey });
    client.initCryptoSnd({ isClose: false, ack: null, stream: { streamId: 0, offset: 0, data: new Uint8Array(100) } });
  }
}

/**
 * A failed check, explained by what the endpoint sent: when one of its packets opens only
 * under a known wrong rule, that rule's clause is the failure (an echo "0 bytes back" is a
 * symptom); packets that did not decrypt at all are said next to the message.
 */
function explained(
  timeline: Datagram[],
  clause: string,
  message: string,
  observation: Observation | null,
): CheckFailure {
  const unreadable = timeline.filter(
    (d) => d.direction === 'in' && d.decoded === null && d.error !== null && d.error !== NO_OWNER,
  );
  const diagnosed = unreadable.find((d) => d.diagnosis !== undefined);
  if (diagnosed?.diagnosis !== undefined) {
    return new CheckFailure(
      diagnosed.diagnosis.clause,
      `${diagnosed.diagnosis.says} (datagram #${diagnosed.index} at ${diagnosed.t.toFixed(1)} ` +
        `ms; ${unreadable.length} of its datagrams did not decrypt); the check that noticed: ` +
        `[${clause}] ${message}`,
    );
  }
  if (unreadable.length === 0) return new CheckFailure(clause, message, observation);
  const first = unreadable[0] as Datagram;
  return new CheckFailure(
    clause,
    `${message}; ${unreadable.length} datagram(s) from the endpoint did not decrypt (first: ` +
      `#${first.index}, ${first.error})`,
    observation,
  );
}
