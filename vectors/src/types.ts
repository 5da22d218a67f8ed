// TypeScript shapes of the vector files; the JSON Schemas in ../schemas are the authority.
import type { Damage } from './damage.js';

/** acceptable: allowed but not required (as in Wycheproof); a decoder may take it or drop it. */
export type VectorResult = 'valid' | 'invalid' | 'acceptable';

export interface VectorTest {
  id: string;
  comment: string;
  flags: string[];
  clauses: string[];
  result: VectorResult;
  /** A QotpErrorCode; present exactly on invalid tests. */
  error?: string;
}

export interface VectorSource {
  generator: string;
  protocolVersion: string;
  checkedAgainst: string;
}

export interface VectorFile<G> {
  $schema: string;
  algorithm: string;
  source: VectorSource;
  numberOfTests: number;
  header: string[];
  notes: Record<string, string>;
  testGroups: G[];
}

export interface UintTest extends VectorTest {
  value: string;
  encoded: string;
}
export type UintFile = VectorFile<{ bits: 16 | 24 | 32 | 48 | 64; tests: UintTest[] }>;

export interface WindowTest extends VectorTest {
  code: number;
  bytes: string;
}
export type WindowFile = VectorFile<{ direction: 'decode' | 'encode'; tests: WindowTest[] }>;

export interface PayloadJson {
  isClose: boolean;
  ack: { streamId: number; offset: number; length: number; window: number } | null;
  stream: { streamId: number; offset: number; data: string } | null;
}
export interface PayloadTest extends VectorTest {
  encoded: string;
  payload?: PayloadJson;
}
export type PayloadFile = VectorFile<{ kind: string; tests: PayloadTest[] }>;

export type MessageName = 'InitSnd' | 'InitRcv' | 'InitCryptoSnd' | 'InitCryptoRcv' | 'Data';

export interface KeySet {
  initiatorIdentityPrivateKey: string;
  initiatorIdentityPublicKey: string;
  initiatorEphemeralPrivateKey: string;
  initiatorEphemeralPublicKey: string;
  responderIdentityPrivateKey: string;
  responderIdentityPublicKey: string;
  responderEphemeralPrivateKey: string;
  responderEphemeralPublicKey: string;
  connId: string;
  ephemeralSecret: string;
  identitySecret: string;
}

export interface ReceiverJson {
  role: 'initiator' | 'responder';
  mtu: number;
  epoch: number;
  knowsConnection: boolean;
}

export interface PacketTest extends VectorTest {
  message: MessageName;
  sn: number;
  epoch: number;
  sealedByInitiator: boolean;
  mtu: number;
  payload: string;
  /** How the packet was damaged, in words (derived from `damage`). */
  mutation?: string;
  damage?: Damage;
  packet: string;
  receiver: ReceiverJson;
  decoded?: { payload: string; sn?: number; epoch?: number; fillerLength?: number };
}
export type PacketFile = VectorFile<{ keySet: KeySet; tests: PacketTest[] }>;

export interface BbrStep {
  event: 'ack' | 'duplicate-ack' | 'retransmit';
  rtt?: number;
  bytesAcked?: number;
  now?: number;
  bwMax: number;
  gainPercent: number;
  isStartup: boolean;
  /** Pacing interval for a 1400-byte packet, ns. */
  pacing: number;
}

export interface RtoTest extends VectorTest {
  samples?: { rtt: number; srtt: number; rttvar: number; rto: number }[];
  rto?: number;
  schedule?: { transmission: number; wait: number | null; sentAt: number }[];
  steps?: BbrStep[];
}
export type RtoFile = VectorFile<{ kind: 'rtt-samples' | 'backoff' | 'bbr'; tests: RtoTest[] }>;

export interface SnMaskTest extends VectorTest {
  key: string;
  /** hchacha20: the 16-byte input; sn-mask: the 24-byte nonce (the sealed payload's first 24 bytes). */
  nonce: string;
  subkey: string;
  /** sn-mask only: the sequence number (decimal) and its 6 masked bytes. */
  sn?: string;
  masked?: string;
}
export type SnMaskFile = VectorFile<{ kind: 'hchacha20' | 'sn-mask'; tests: SnMaskTest[] }>;

export interface RcvBufferStep {
  op: 'insert' | 'read';
  streamId: number;
  /** insert: the segment (its bytes are irrelevant: any, the same for the same offset). */
  offset?: number;
  length?: number;
  /**
   * insert: kept (new bytes held), duplicate (nothing new, acknowledged all the same) or full (dropped, not
   * acknowledged).
   */
  result?: 'kept' | 'duplicate' | 'full';
  /** read: the bytes the application could read, all that was in order. */
  bytes?: number;
  /** After the step: the bytes held, and the window an ACK would then carry (its code decoded). */
  buffered: number;
  window: number;
}
export interface RcvBufferTest extends VectorTest {
  capacity: number;
  steps: RcvBufferStep[];
}
export type RcvBufferFile = VectorFile<{ tests: RcvBufferTest[] }>;

export interface VectorFiles {
  'uint-codec': UintFile;
  'rcv-window': WindowFile;
  payloads: PayloadFile;
  'crypto-messages': PacketFile;
  'invalid-packets': PacketFile;
  rto: RtoFile;
  'sn-mask': SnMaskFile;
  'rcv-buffer': RcvBufferFile;
}
export type VectorFileName = keyof VectorFiles;
