// What a conformance case is, and what it gets to work with. A case is a script for the
// tester peer; its checks name the spec clause they test, so that a failure says which
// statement of the spec the endpoint broke.
import type { HostPort } from '@qotp/reference/node';
import type { TesterPeer } from '../peer/tester-peer.js';
import type { Datagram } from '../capture/datagram.js';

export type Level = 'MUST' | 'SHOULD';
/** The role of the endpoint under test in the case. */
export type Role = 'server' | 'client';
/** Optional features an implementation declares in its manifest. */
export type Capability = 'zeroRtt' | 'pingInHandshakeReply';

export interface CaseDefinition {
  /** Stable id, e.g. "handshake.init-snd-short". */
  id: string;
  title: string;
  /** The spec clauses the case checks (each must exist in spec/qotp.spec.json). */
  clauses: string[];
  level: Level;
  role: Role;
  requires?: Capability[];
  /**
   * What the case needs from a launched server (server role): a sink application instead
   * of echo (it reads and prints "qotp stream <id> received <n> bytes sha256 <hex>" when a
   * stream ends), or the key log the server writes. Attached servers offer neither.
   */
  needsLaunch?: { sink?: boolean; keyLog?: boolean };
  /**
   * Runs on a worker thread of its own, for cases whose verdict rests on the tester's
   * timestamps; such a case cannot use the endpoint's output, key log or a client.
   */
  isolated?: boolean;
  /**
   * Its verdict depends on chance (an impaired path): `--repeat N` runs it N times with
   * successive seeds, and its limits grow N-fold.
   */
  repeatable?: boolean;
  /** How long the case may take on a loaded 2-core machine (one run of a repeatable case). */
  timeoutMs: number;
  /**
   * Why the case takes seconds, when it does: a timer it waits out, a schedule of resends, a
   * transfer through an impaired path. `--quick` leaves such cases out and says which.
   */
  slow?: string;
  /**
   * Set when nearly all of the case's time is a wait on the endpoint's own timer (the idle
   * timeout, the last resends before a give-up), with hardly a datagram meanwhile: the runner
   * starts it beside the `concurrency` cases at work instead of in one of their places.
   */
  waitsOnTimer?: true;
  run(ctx: CaseContext): Promise<void>;
}

/** What a check wanted and what it saw, when both are a value (a length, a count, an offset). */
export interface Observation {
  expected: string;
  observed: string;
}

/** A relay's record as a capture: the pcap and the key log lines that open it. */
export interface RelayCapture {
  pcap: Uint8Array;
  keyLog: string;
}

/** A check that did not hold: the case fails with this clause and message. */
export class CheckFailure extends Error {
  override readonly name = 'CheckFailure';
  constructor(
    readonly clause: string,
    message: string,
    readonly observation: Observation | null = null,
  ) {
    super(message);
  }
}

export interface Check {
  clause: string;
  ok: boolean;
  /** What went wrong; null for a check that held. */
  message: string | null;
}

/** A timing compared with what the spec expects, reported next to each other. */
export interface Measurement {
  name: string;
  clause: string;
  expectedMs: number;
  measuredMs: number | null;
  /** The accepted window around the expected value, the tester's uncertainty included. */
  lowMs: number;
  highMs: number;
  /**
   * How late the tester itself may have noticed a datagram: the longest its event loop
   * was held up during the case (other cases, garbage collection, the machine's load).
   */
  uncertaintyMs: number;
}

/** The endpoint under test as a case sees it. */
export interface EndpointInfo {
  /** Server role: where it listens. */
  address: HostPort | null;
  /** Its identity public key (server role), needed for 0-RTT. */
  publicKey: Uint8Array | null;
  mtu: number;
}

export interface ClientRun {
  /** Resolves when the client process ended. */
  exited: Promise<{ code: number | null; stdout: string; stderr: string; spawnError: string | null }>;
  stop(): void;
}

export interface CaseContext {
  readonly endpoint: EndpointInfo;
  /** This case's seed for whatever it draws at random (the impairment relay): `--seed` fixes it. */
  readonly seed: number;
  /** How many runs a repeatable case makes (`--repeat`), each with the seed after the last; 1 otherwise. */
  readonly runs: number;
  /** What the launched server printed so far ('' when attached). */
  endpointOutput(): string;
  /** What the launched server wrote to its key log so far. */
  endpointKeyLog(): string;
  /** A new tester peer aimed at the endpoint (server role) or waiting for it (client role). */
  peer(options?: { ipv6?: boolean }): Promise<TesterPeer>;
  /** Launches the target's client towards `peer` (the tester, or a relay in front of a reference server). */
  startClient(options: {
    peer: Pick<TesterPeer, 'address'>;
    identityPublicKey: Uint8Array;
    zeroRtt: boolean;
    input: Uint8Array;
  }): Promise<ClientRun>;
  /** Records a check; throws CheckFailure when it does not hold. */
  expect(clause: string, ok: boolean, message: string, observation?: Observation): asserts ok;
  measure(m: Measurement): boolean;
  /** The longest the tester's event loop was held up since the case started, in ms. */
  timingUncertaintyMs(): number;
  /** A line for the report, e.g. what the endpoint chose where the spec allows a choice. */
  note(text: string): void;
  /**
   * Ends the case without a verdict: what it needs to see could not be set up within its time,
   * for a reason the spec allows (an endpoint that acknowledges slowly, say). Counted as timed
   * out, never as a pass; `message` says how far it got.
   */
  inconclusive(message: string): never;
  /**
   * Counts datagrams of the endpoint that authenticated and decoded on a path the tester
   * does not record itself (a relay's): the runner's first-contact reading needs them.
   */
  endpointTookPart(datagrams: number): void;
  /**
   * Has the protocol monitor judge a record the tester did not make itself (a relay's, decoded
   * with its keys; the endpoint's datagrams 'in'); a violation fails the case like one in the
   * timeline. `label` says which run it was. `capture` is the record as a pcap with the key log
   * lines that open it: the last one is the case's capture when the tester recorded nothing (--out).
   */
  monitorRelay(timeline: Datagram[], label: string, capture: RelayCapture): void;
}
