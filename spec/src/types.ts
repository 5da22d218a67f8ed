// TypeScript view of qotp.spec.json. The JSON Schema (qotp.spec.schema.json) is the
// authority on the document's shape; these types mirror it so that code reading the
// spec is checked by the compiler.

export type MessageName = 'InitSnd' | 'InitRcv' | 'InitCryptoSnd' | 'InitCryptoRcv' | 'Data';
export type Role = 'initiator' | 'responder' | 'both';
export type Encoding =
  | 'header-byte'
  | 'uint16le'
  | 'uint24le'
  | 'uint32le'
  | 'uint48le'
  | 'uint64le'
  | 'x25519-public-key'
  | 'bytes'
  | 'zero-bytes'
  | 'rcv-window-code';
export type Protection = 'plain' | 'aad' | 'sn-masked' | 'sealed' | 'tag';
export type Level = 'MUST' | 'SHOULD' | 'MAY';
export type TestedBy = 'vectors' | 'conformance' | 'simulation' | 'monitor';

export interface SourceVersion {
  module: string;
  version: string;
  note: string;
}

export interface Constant {
  value: number;
  unit: 'bytes' | 'bits' | 'count' | 'percent' | 'nanoseconds' | 'version' | 'code';
  goName?: string;
  description: string;
}

export interface BitField {
  name: string;
  shift: number;
  width: number;
  description: string;
}

export interface HeaderByte {
  size: 1;
  bits: BitField[];
  description: string;
}

export interface Field {
  name: string;
  /** Byte offset, 'after-previous' after a variable-size field, or 'end' for a trailer. */
  offset: number | 'after-previous' | 'end';
  size: number | 'variable';
  encoding: Encoding;
  protection?: Protection;
  description: string;
}

export interface MessageLayout {
  type: number;
  sentBy: Role;
  description: string;
  encrypted: boolean;
  secret?: { ecdh: [string, string]; forwardSecret: boolean; description: string };
  directionBit?: 0 | 1 | 'by-role';
  aadSize?: number;
  paddedTo?: 'mtu';
  fields: Field[];
  plaintext?: Field[];
  minSize: { accepted: number | string; withMinimalPayload: number | string; description: string };
}

export type ClauseClass = 'datagram' | 'sequence' | 'across-connections' | 'scenario';

export interface Clause {
  id: string;
  area: string;
  level: Level;
  title: string;
  text: string;
  source: { readme?: string; go?: string[] };
  /** What a peer must do to interoperate with the Go original where it differs. */
  interop?: string;
  testedBy: TestedBy[];
  /**
   * What kind of rule: one datagram, one connection's sequence, across connections, or a scenario only a case sets up.
   */
  class: ClauseClass;
  /** Per release of the Go original: does it behave as the clause says, and if not, why. */
  goOriginal: Record<string, ReleaseConformance>;
}

export interface ReleaseConformance {
  holds: boolean;
  findings?: string[];
  note?: string;
}

export interface Evidence {
  go: string[];
  vectors?: string[];
  observed?: string;
}

export interface Release {
  version: string;
  date: string;
  role: 'pinned' | 'profile';
  checked: string;
}

export type FindingStatus = 'present' | 'fixed' | 'changed' | 'absent';

/** A defect of the Go original, with its state in each release. */
export interface Finding {
  id: string;
  title: string;
  clauses: string[];
  description: string;
  releases: Record<string, { status: FindingStatus; evidence: string }>;
}

/** One thing a release does differently from the pinned one: a clause, a constant or an erratum. */
export type ProfileDifference = ({ clause: string } | { constant: string } | { erratum: string }) & {
  behaviour: string;
  evidence: Evidence;
};

export interface Profile {
  release: string;
  summary: string;
  differences: ProfileDifference[];
}

/** A revision after the pinned release, not released: how it differs on the wire (spec.next). */
export interface NextRevision {
  revision: string;
  branch: string;
  date: string;
  status: 'detected' | 'checked';
  summary: string;
  checked: string;
  payload: {
    description: string;
    header: { bits: BitField[] };
    types: {
      code: number;
      name: string;
      isClose: boolean;
      mtuUpdate: boolean;
      keyUpdate: boolean;
      keyUpdateAck: boolean;
    }[];
    mtuValueSize: number;
    streamHeaderRule: string;
  };
  differences: { area: string; behaviour: string; evidence: Evidence }[];
}

export interface Erratum {
  id: string;
  title: string;
  readme: string;
  actual: string;
  evidence: Evidence;
  clauses: string[];
}

export interface QotpSpec {
  specFormat: 1;
  protocol: 'QOTP';
  protocolVersion: string;
  provenance: { readme: SourceVersion; code: SourceVersion };
  releases: Release[];
  byteOrder: 'little-endian';
  constants: Record<string, Constant>;
  cryptoHeader: HeaderByte;
  messageTypes: { name: MessageName; code: number; sentBy: Role; description: string }[];
  messages: Record<MessageName, MessageLayout>;
  nonce: {
    size: number;
    fields: Field[];
    directionBit: { byte: number; mask: number; initiator: 0 | 1; responder: 0 | 1; description: string };
    description: string;
  };
  snMasking: {
    cipher: 'XChaCha20';
    key: string;
    nonceFrom: string;
    nonceSize: number;
    counter: number;
    maskedBytes: number;
    description: string;
  };
  epochs: { snBits: number; epochBits: number; decryptOrder: string[]; description: string };
  payload: {
    header: HeaderByte;
    types: { code: number; name: string; isClose: boolean; hasAck: boolean }[];
    ackSection: Field[];
    streamSection: Field[];
    offsetWidths: { narrowBytes: number; wideBytes: number; narrowMax: number; rule: string };
    kinds: { name: string; onTheWire: string; decoderRule: string }[];
    description: string;
  };
  receiveWindow: {
    codeSize: number;
    substepsPerPowerOfTwo: number;
    smallestStepExponent: number;
    encode: string[];
    decode: string[];
    maxDecoded: number;
    description: string;
  };
  retransmission: {
    rtoRules: string[];
    transmissions: { number: number; waitFactor: number | null }[];
    description: string;
  };
  stateMachines: StateMachine[];
  clauses: Clause[];
  errata: Erratum[];
  findings: Finding[];
  profiles: Profile[];
  next?: NextRevision;
}

/** One row of a state machine: in state `from`, on `event` (when `guard` holds), do `action` and go to `to`. */
export interface Transition {
  /** The row's name, unique in its machine. */
  id: string;
  from: string;
  event: string;
  guard?: string;
  action: string;
  to: string;
  /** The clauses that state the row's behaviour. */
  clauses: string[];
}

/** A state machine of the protocol as a transition table. */
export interface StateMachine {
  id: string;
  title: string;
  description: string;
  initial: string;
  states: { id: string; description: string }[];
  transitions: Transition[];
}
