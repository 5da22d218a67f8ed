// One error type for everything the reference rejects. `code` is stable and
// machine-readable (vectors name it as their expected error); `message` says
// what exactly was wrong with the input.

export type QotpErrorCode =
  | 'too-short' // fewer bytes than the layout needs
  | 'unsupported-version' // a version field that is not 0
  | 'unknown-type' // a crypto message type code 5..7
  | 'unknown-connection' // a connection id the receiver does not know
  | 'wrong-role' // a message of the connection's own role (a reply reaching the responder)
  | 'authentication-failed' // Poly1305 tag did not verify (wrong key, epoch, direction, or tampering)
  | 'invalid-public-key' // X25519 gave the all-zero shared secret (low-order point)
  | 'malformed' // a field value that contradicts the rest of the packet
  | 'invalid-argument'; // an encoder was given a value it cannot put on the wire

export class QotpError extends Error {
  override readonly name = 'QotpError';
  constructor(
    readonly code: QotpErrorCode,
    /** What was wrong, without the code: for messages to people. */
    readonly reason: string,
  ) {
    super(`${code}: ${reason}`);
  }
}

/** Throws a 'too-short' error unless `bytes` has at least `needed` bytes. */
export function requireLength(bytes: Uint8Array, needed: number, what: string): void {
  if (bytes.length < needed) {
    throw new QotpError('too-short', `${what} needs at least ${needed} bytes, got ${bytes.length}`);
  }
}
