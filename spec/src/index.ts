// @qotp/spec: the machine-readable QOTP wire specification and small accessors over it.
// Code elsewhere in the project takes layouts and constants from here instead of
// repeating numbers, so a change to the JSON is a change to every consumer.
//
// The document comes in as a JSON module, not through the file system, so that this
// package (and the reference's protocol core on top of it) loads in a browser bundle,
// Deno or Bun as well as in Node.
import document from '../qotp.spec.json' with { type: 'json' };
import type { BitField, Clause, HeaderByte, MessageLayout, MessageName, QotpSpec, Release } from './types.js';

export type * from './types.js';

/** The parsed spec. Its shape is enforced by the schema in this package's tests. */
export const spec: QotpSpec = document as unknown as QotpSpec;

export class SpecLookupError extends Error {
  override readonly name = 'SpecLookupError';
}

/** Value of a named constant; throws when the spec has no such constant. */
export function constant(name: string): number {
  const entry = spec.constants[name];
  if (entry === undefined) throw new SpecLookupError(`spec has no constant named '${name}'`);
  return entry.value;
}

export function message(name: MessageName): MessageLayout {
  return spec.messages[name];
}

/** Byte offset of a fixed-position field of a message layout. */
export function fieldOffset(name: MessageName, field: string): number {
  const found = message(name).fields.find((f) => f.name === field);
  if (found === undefined) throw new SpecLookupError(`message ${name} has no field '${field}'`);
  if (typeof found.offset !== 'number') {
    throw new SpecLookupError(`field ${name}.${field} has no fixed offset (${found.offset})`);
  }
  return found.offset;
}

/** Size in bytes of a message's cleartext header: everything before the masked SN (the AAD). */
export function headerSize(name: MessageName): number {
  const layout = message(name);
  if (layout.aadSize === undefined) throw new SpecLookupError(`message ${name} is not encrypted`);
  return layout.aadSize;
}

/** The numeric type code of a message. */
export function messageType(name: MessageName): number {
  return message(name).type;
}

/** What a message is, read from its layout: who sends it, what it starts, how it is sealed. */
export interface MessageTraits {
  /** A connection's first packet (InitSnd, InitCryptoSnd): the initiator's, it opens a connection at the responder. */
  firstPacket: boolean;
  /** The responder's answer to a first packet (InitRcv, InitCryptoRcv). */
  reply: boolean;
  /** Sent by either side once the connection is established (Data). */
  eitherSide: boolean;
  encrypted: boolean;
  /** Sealed with the 0-RTT identity secret rather than the ephemeral one (InitCryptoSnd). */
  identitySecret: boolean;
  /** Its plaintext starts with a filler length and a filler before the payload (InitCryptoSnd). */
  filler: boolean;
}

function traitsOf(m: MessageLayout): Readonly<MessageTraits> {
  return Object.freeze({
    firstPacket: m.sentBy === 'initiator',
    reply: m.sentBy === 'responder',
    eitherSide: m.sentBy === 'both',
    encrypted: m.encrypted,
    identitySecret: m.secret?.forwardSecret === false,
    filler: m.plaintext?.some((f) => f.name === 'fillerLength') ?? false,
  });
}

// Read once: the engine asks for every datagram it receives.
const TRAITS = Object.fromEntries(Object.entries(spec.messages).map(([name, m]) => [name, traitsOf(m)])) as Record<
  MessageName,
  Readonly<MessageTraits>
>;

/** A message's traits, so that code asks "is it a first packet" instead of comparing type names. */
export function messageTraits(name: MessageName): Readonly<MessageTraits> {
  return TRAITS[name];
}

/** The role that receives a message; null for one either side sends (Data). */
export function receiverOf(name: MessageName): 'initiator' | 'responder' | null {
  const sentBy = message(name).sentBy;
  return sentBy === 'both' ? null : sentBy === 'initiator' ? 'responder' : 'initiator';
}

/** Whether a message's nonce carries the initiator's direction bit, given who sent it (which matters for Data only). */
export function sealedByInitiator(name: MessageName, senderIsInitiator: boolean): boolean {
  const bit = message(name).directionBit;
  if (bit === 'by-role' || bit === undefined) return senderIsInitiator;
  return bit === spec.nonce.directionBit.initiator;
}

export function bitField(header: HeaderByte, name: string): BitField {
  const found = header.bits.find((b) => b.name === name);
  if (found === undefined) throw new SpecLookupError(`header has no bit field '${name}'`);
  return found;
}

export function clause(id: string): Clause {
  const found = spec.clauses.find((c) => c.id === id);
  if (found === undefined) throw new SpecLookupError(`spec has no clause '${id}'`);
  return found;
}

/** The release of the Go original the spec describes (the others are profiles). */
export function pinnedRelease(): Release {
  const found = spec.releases.find((r) => r.role === 'pinned');
  if (found === undefined) throw new SpecLookupError('spec names no pinned release');
  return found;
}
