// Why a packet from the endpoint does not open, when the reason is a known mistake: the
// tester tries the packet again under each plausible wrong rule (another X25519 pairing,
// an unmasked sequence number, the mask with block counter 0, the other direction bit)
// and names the clause of the rule under which it does open. Without this, a wrong mask
// reads as "no epoch authenticates" under the secret's clause, and an endpoint whose every
// packet is unreadable fails an echo check with "0 bytes came back".
import { buildNonce, decodePayload, open, readUint, sharedSecret, xorSnMask } from '@qotp/reference';
import { nextRevision, readNextPayload } from './next-profile.js';
import { constant, fieldOffset, headerSize, spec, type MessageName } from '@qotp/spec';

export interface Diagnosis {
  clause: string;
  /** What the endpoint did, e.g. "the endpoint sealed it with the initiator's direction bit". */
  says: string;
}

/** The keys the tester holds for a connection, as the diagnosis needs them. */
export interface TesterKeys {
  role: 'initiator' | 'responder';
  ephemeralPrivateKey: Uint8Array;
  identityPrivateKey: Uint8Array;
  /** The connection's secret once known (Data), null before. */
  secret: Uint8Array | null;
  peerIdentityPublicKey: Uint8Array | null;
}

type Mask = 'spec' | 'none' | 'counter-0';
interface Secret {
  key: Uint8Array;
  /** How it deviates from the spec's pairing; null for the right one. */
  wrong: string | null;
}

const SN_SIZE = constant('SnSize');
const MASK_NONCE = spec.snMasking.nonceSize;

/** The secrets an endpoint might have sealed a packet of this type with: the right one first. */
function candidateSecrets(type: MessageName, bytes: Uint8Array, k: TesterKeys): Secret[] {
  const key = (at: number) => bytes.subarray(at, at + 32);
  const pair = (mine: Uint8Array, theirs: Uint8Array | null) => {
    if (theirs === null) return null;
    try {
      return sharedSecret(mine, theirs);
    } catch {
      return null; // a low-order key: nothing to try
    }
  };
  const list: [Uint8Array | null, string | null][] = [];
  if (type === 'InitRcv' || type === 'InitCryptoRcv') {
    const ephemeral = key(fieldOffset(type, 'pubKeyEpRcv'));
    const identity = type === 'InitRcv' ? key(fieldOffset('InitRcv', 'pubKeyIdRcv')) : k.peerIdentityPublicKey;
    list.push(
      [pair(k.ephemeralPrivateKey, ephemeral), null],
      [
        pair(k.ephemeralPrivateKey, identity),
        "X25519(the initiator's ephemeral key, the responder's identity key), the 0-RTT secret",
      ],
      [pair(k.identityPrivateKey, ephemeral), "X25519(the initiator's identity key, the responder's ephemeral key)"],
      [pair(k.identityPrivateKey, identity), 'X25519 of the two identity keys'],
    );
  } else if (type === 'Data' && k.secret !== null) {
    list.push([k.secret, null]);
  }
  return list.filter((c): c is [Uint8Array, string | null] => c[0] !== null).map(([key, wrong]) => ({ key, wrong }));
}

/** The plaintext when the packet opens under this variant, else null. */
function opened(
  bytes: Uint8Array,
  type: MessageName,
  secret: Uint8Array,
  mask: Mask,
  sealedByInitiator: boolean,
): Uint8Array | null {
  const h = headerSize(type);
  if (bytes.length < h + SN_SIZE + MASK_NONCE) return null;
  const header = bytes.subarray(0, h);
  const maskedSn = bytes.subarray(h, h + SN_SIZE);
  const sealed = bytes.subarray(h + SN_SIZE);
  const snBytes =
    mask === 'none' ? maskedSn : xorSnMask(secret, sealed, maskedSn, mask === 'counter-0' ? 0 : spec.snMasking.counter);
  const sn = readUint(snBytes, 0, 48);
  for (const epoch of [0, 1]) {
    try {
      return open(secret, buildNonce(epoch, sn, sealedByInitiator), header, sealed);
    } catch {
      // the next epoch, then the next variant
    }
  }
  return null;
}

/** A packet that opens by the spec but whose payload v0.2.19 cannot read: the next revision's? */
function nextRevisionPayload(
  type: MessageName,
  bytes: Uint8Array,
  right: Secret | undefined,
  rightDirection: boolean,
): Diagnosis | null {
  const plain = right === undefined ? null : opened(bytes, type, right.key, 'spec', rightDirection);
  if (plain === null || nextRevision === null) return null;
  try {
    decodePayload(plain);
    return null; // v0.2.19 reads it: whatever failed, it is not the layout
  } catch {
    const read = readNextPayload(plain);
    if (read === null) return null;
    return {
      clause: 'payload.header.version',
      says:
        `the endpoint's ${type} opens, and its payload, unreadable by v0.2.19's layout, reads as ${read} by the ` +
        `layout of ${nextRevision} (SPEC.md "Next revision"), or as v0.2.19's with a payload version other than ` +
        `0; this suite checks v0.2.19`,
    };
  }
}

/** The first known mistake under which the packet opens; null when none explains it. */
export function diagnose(type: MessageName, bytes: Uint8Array, k: TesterKeys): Diagnosis | null {
  const secretClause =
    type === 'InitCryptoRcv'
      ? 'crypto.init-crypto-rcv.secret'
      : type === 'InitRcv'
        ? 'crypto.init-rcv.secret'
        : 'crypto.aead.cipher';
  const rightDirection = k.role === 'responder'; // the endpoint is the other side
  // Each candidate costs an X25519: computed once for both readings.
  const candidates = candidateSecrets(type, bytes, k);
  const next = nextRevisionPayload(
    type,
    bytes,
    candidates.find((s) => s.wrong === null),
    rightDirection,
  );
  if (next !== null) return next;
  for (const secret of candidates) {
    for (const mask of ['spec', 'none', 'counter-0'] as const) {
      for (const byInitiator of [rightDirection, !rightDirection]) {
        const wrong = [
          secret.wrong === null ? null : { clause: secretClause, says: `sealed it with ${secret.wrong}` },
          mask === 'spec'
            ? null
            : {
                clause: 'crypto.sn.masking',
                says:
                  mask === 'none'
                    ? 'sent its sequence number unmasked'
                    : `masked its sequence number with XChaCha20 block counter 0 (the spec's ` +
                      `is ${spec.snMasking.counter})`,
              },
          byInitiator === rightDirection
            ? null
            : {
                clause: 'crypto.nonce.direction-bit',
                says: `sealed it with the ${byInitiator ? "initiator's" : "responder's"} direction bit`,
              },
        ].filter((w): w is Diagnosis => w !== null);
        if (wrong.length === 0 || opened(bytes, type, secret.key, mask, byInitiator) === null) continue;
        return {
          clause: (wrong[0] as Diagnosis).clause,
          says:
            `the endpoint ${wrong.map((w) => w.says).join(' and ')}: its ${type} opens that way and not by the ` +
            `spec`,
        };
      }
    }
  }
  return null;
}
