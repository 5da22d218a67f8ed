// What the engine tells its user. The adapter drains these after each call.

/** An opaque peer address; the engine only hands it back. */
export type Address = string;

export type CloseReason =
  | 'closed' // closed by the application
  | 'idle-timeout' // nothing received for IdleTimeout
  | 'retransmission-limit' // a segment went unacknowledged MaxTransmissions times
  | 'sequence-exhausted'; // 2^95 packets sent

export type EngineEvent =
  | { type: 'connection'; connId: bigint; remote: Address } // a peer opened a connection to us
  | { type: 'handshake-complete'; connId: bigint }
  | { type: 'stream-readable'; connId: bigint; streamId: number }
  // the peer closed its direction and all of it was read
  | { type: 'stream-finished'; connId: bigint; streamId: number }
  | { type: 'stream-close-acknowledged'; connId: bigint; streamId: number } // the peer acknowledged our CLOSE
  // both directions are done and all our data acknowledged
  | { type: 'stream-closed'; connId: bigint; streamId: number }
  | { type: 'connection-closed'; connId: bigint; reason: CloseReason }
  | { type: 'dropped'; remote: Address; reason: string }; // a datagram that failed a check (QotpError code and message)

export interface Outgoing {
  to: Address;
  data: Uint8Array;
}
