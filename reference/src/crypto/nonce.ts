// The deterministic 12-byte ChaCha20-Poly1305 nonce (clauses crypto.nonce.*).
//   bytes 0-5: epoch, uint48le;  bytes 6-11: sequence number, uint48le
// then the top bit of byte 0 is forced to the sender's role. Because the epoch is
// little-endian, that bit is epoch bit 7, not bit 47 (erratum E10).
import { constant, spec } from '@qotp/spec';
import { writeUint } from '../wire/uint.js';

const { byte: DIRECTION_BYTE, mask: DIRECTION_MASK } = spec.nonce.directionBit;

export function buildNonce(epoch: number, sn: number, sealedByInitiator: boolean): Uint8Array {
  const nonce = new Uint8Array(constant('AeadNonceSize'));
  writeUint(nonce, 0, epoch, 48);
  writeUint(nonce, 6, sn, 48);
  const bit = sealedByInitiator ? spec.nonce.directionBit.initiator : spec.nonce.directionBit.responder;
  const current = nonce[DIRECTION_BYTE] as number;
  nonce[DIRECTION_BYTE] = bit === 1 ? current | DIRECTION_MASK : current & ~DIRECTION_MASK;
  return nonce;
}
