// Before any case runs against a server started by hand: one 1-RTT handshake, so that a
// wrong address or key is one clear line instead of a column of failures that blame wire
// clauses (no answer at all looks, case by case, like a broken handshake).
import { parseHostPort } from '@qotp/reference/node';
import { PeerConnection } from '../peer/peer-connection.js';
import { TesterPeer } from '../peer/tester-peer.js';

const ATTEMPTS = 3;
const WAIT_MS = 1000;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Null when the server answers with the given identity key; otherwise what is wrong, in one line. */
export async function attachProblem(address: string, publicKey: Uint8Array, mtu: number): Promise<string | null> {
  const peer = await TesterPeer.open({ target: parseHostPort(address), timeline: [], epoch: 0, mtu });
  try {
    const conn = peer.add(new PeerConnection('initiator'));
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const sent = peer.send(conn.initSnd(mtu), 'InitSnd (attach check)');
      const reply = await peer.waitFor((d) => conn.owns(d.bytes), WAIT_MS, sent.index + 1);
      if (reply === null) continue;
      if (reply.decoded === null)
        return (
          `${address} answers, but its reply to an InitSnd does not decode (${reply.error}); is it a QOTP server ` +
          `with MTU ${mtu}?`
        );
      const key = conn.peerIdentityPublicKey;
      if (key !== null && hex(key) !== hex(publicKey))
        return `the server at ${address} answers with identity key ${hex(key)}, not the --pubkey ${hex(publicKey)}`;
      return null;
    }
    const strays = peer.incoming(0).length;
    return (
      `nothing answers at ${address}: no reply to ${ATTEMPTS} InitSnd sent ${WAIT_MS} ms ` +
      `apart${strays > 0 ? ` (${strays} datagram(s) came, none for this connection)` : ''}`
    );
  } finally {
    peer.close();
  }
}
