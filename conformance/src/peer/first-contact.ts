// What an endpoint that never spoke the protocol did instead, said once per target: from the
// datagrams it sent in the cases where nothing of it authenticated and decoded, the most
// likely cause - silence, datagrams above the declared MTU, a payload of another layout, a
// known sealing mistake, the tester's own packets sent back, or packets that do not open.
import type { Datagram } from '../capture/datagram.js';
import { nextRevision } from '../capture/next-profile.js';
import { NO_OWNER } from './tester-peer.js';

/** The parts of a case's result the reading needs. */
export interface MuteCase {
  id: string;
  message: string | null;
  timeline: Datagram[];
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export function firstContact(cases: readonly MuteCase[], role: 'server' | 'client', mtu: number): string {
  const incoming = cases.flatMap((c) => c.timeline.filter((d) => d.direction === 'in'));
  if (incoming.length === 0) {
    // Cases through a relay record nothing in the tester's timeline: their messages speak.
    const said = cases.map((c) => c.message).find((m) => m !== null && m !== '') ?? 'no message';
    const hint =
      role === 'server'
        ? `is it listening at the address it announced, and does it answer an InitSnd of ${mtu} bytes (the ` +
          `declared MTU)?`
        : 'does the client command start a client that connects to {peer}?';
    return (
      `nothing arrived at the tester from the endpoint in ${plural(cases.length, 'case')}; ${hint} (first ` +
      `case: ${said.slice(0, 300)})`
    );
  }
  const largest = Math.max(...incoming.map((d) => d.bytes.length));
  if (largest > mtu) {
    return (
      `its datagrams are up to ${largest} bytes, more than the declared MTU of ${mtu}: it sizes packets by ` +
      `another rule (the interface's MTU, as ${nextRevision ?? 'a later revision'} does?); the target file's ` +
      `"mtu" must be what it sends and accepts`
    );
  }
  const diagnosed = incoming.find((d) => d.diagnosis !== undefined);
  if (diagnosed?.diagnosis !== undefined) return `${diagnosed.diagnosis.says} [${diagnosed.diagnosis.clause}]`;
  const payload = incoming.find((d) => d.error !== null && /payload|unsupported-version/i.test(d.error));
  if (payload !== undefined) {
    return (
      `its packets authenticate but their payloads do not decode as this profile's layout ` +
      `(first: ${payload.error}); an endpoint of another revision, such as ${nextRevision ?? 'a later one'}, ` +
      `whose payload header has no version field?`
    );
  }
  const reflected = incoming.filter((d) => d.error !== null && /own message type/.test(d.error));
  if (reflected.length > 0)
    return (
      `it sent the tester's own messages back (${plural(reflected.length, 'datagram')}, ` +
      `first: ${reflected[0]?.error})`
    );
  const foreign = incoming.filter((d) => d.error === NO_OWNER).length;
  const unreadable = incoming.filter((d) => d.error !== null && d.error !== NO_OWNER);
  const first = unreadable[0];
  const parts = [
    `${plural(incoming.length, 'datagram')} arrived, none authenticated and decoded`,
    foreign > 0 ? `${foreign} under no connection id of the tester's` : '',
    first === undefined ? '' : `${unreadable.length} of its connections' did not open (first: ${first.error})`,
  ];
  return parts.filter(Boolean).join('; ');
}
