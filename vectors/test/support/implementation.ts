// The functions the vectors exercise, as the reference has them: what support/replay.ts replays
// each file with, and what a mutant (support/mutants.ts) replaces one or two of. No test
// framework here, so that conformance/scripts can read the mutants for CASES.md.
import {
  backoffNanos,
  decodePayload,
  decodeRcvWindow,
  encodePayload,
  encodeRcvWindow,
  onAck,
  onDuplicateAck,
  onRetransmit,
  pacingInterval,
  readUint,
  readUint64,
  receivePacket,
  rtoNanos,
  updateRtt,
  writeUint,
  writeUint64,
  xorSnMask,
} from '@qotp/reference';
import { replayRcvBuffer } from '../../src/generators/rcv-buffer.js';
import { buildPacket } from '../../src/packets.js';

/** The crypto primitives below them come from the selected backend. */
export const reference = {
  writeUint,
  readUint,
  writeUint64,
  readUint64,
  encodeRcvWindow,
  decodeRcvWindow,
  encodePayload,
  decodePayload,
  receivePacket,
  /** Seals a packet vector's message from its key set (the sending side). */
  buildPacket,
  updateRtt,
  rtoNanos,
  backoffNanos,
  onAck,
  onDuplicateAck,
  onRetransmit,
  pacingInterval,
  xorSnMask,
  replayRcvBuffer,
};
export type Implementation = typeof reference;
