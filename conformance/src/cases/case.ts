// What a conformance case is, and what it gets to work with. A case is a script for the
// tester peer; its checks name the spec clause they test, so that a failure says which
// statement of the spec the endpoint broke.
import type { HostPort, TesterPeer } from '../peer/tester-peer.js';

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
   * The application the launched server runs (server role): echo (default), or sink, which
   * reads and prints "qotp stream <id> received <n> bytes sha256 <hex>" when a stream ends.
   */
  application?: 'echo' | 'sink';
  /** How long the case may take on a loaded 2-core machine. */
  timeoutMs: number;
  run(ctx: CaseContext): Promise<void>;
}

/** A check that did not hold: the case fails with this clause and message. */
export class CheckFailure extends Error {
  override readonly name = 'CheckFailure';
  constructor(
    readonly clause: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Check {
  clause: string;
  ok: boolean;
  message: string;
}

/** A timing compared with what the spec expects, reported next to each other. */
export interface Measurement {
  name: string;
  clause: string;
  expectedMs: number;
  measuredMs: number | null;
  /** The accepted window around the expected value. */
  lowMs: number;
  highMs: number;
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
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
  stop(): void;
}

export interface CaseContext {
  readonly endpoint: EndpointInfo;
  readonly signal: AbortSignal;
  /** What the launched server printed so far ('' when attached). */
  endpointOutput(): string;
  /** A new tester peer aimed at the endpoint (server role) or waiting for it (client role). */
  peer(options?: { ipv6?: boolean }): Promise<TesterPeer>;
  /** Client role: launches the implementation's client against `peer`; 0-RTT uses the peer's key. */
  startClient(options: { peer: TesterPeer; identityPublicKey: Uint8Array; zeroRtt: boolean; input: Uint8Array }): Promise<ClientRun>;
  /** Records a check; throws CheckFailure when it does not hold. */
  expect(clause: string, ok: boolean, message: string): asserts ok;
  measure(m: Measurement): boolean;
  /** A line for the report, e.g. what the endpoint chose where the spec allows a choice. */
  note(text: string): void;
}
