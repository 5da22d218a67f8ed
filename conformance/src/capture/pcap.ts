// A pcap of datagrams for Wireshark: raw IP packets with the addresses and ports as they were
// and the times as measured, from a case's timeline or a relay's record.
import type { Datagram } from './datagram.js';
import { parseHostPort } from '@qotp/reference/node';

const LINKTYPE_RAW = 101; // the packet starts with an IPv4 or IPv6 header
const UDP = 17;

function ipv4(a: string): number[] {
  return a.split('.').map(Number);
}

function ipv6(a: string): number[] {
  const [head = '', tail = ''] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

/** What a pcap needs of a datagram. */
export type PcapDatagram = Pick<Datagram, 't' | 'from' | 'to' | 'bytes'>;

/** The datagram inside an IP and UDP header, as a capture on the loopback interface would show it. */
function ipPacket(d: PcapDatagram): Uint8Array {
  const from = parseHostPort(d.from);
  const to = parseHostPort(d.to);
  const v6 = from.host.includes(':');
  const udpLength = 8 + d.bytes.length;
  const ipHeader = v6 ? 40 : 20;
  const out = new Uint8Array(ipHeader + udpLength);
  const view = new DataView(out.buffer);
  if (v6) {
    out[0] = 0x60;
    view.setUint16(4, Math.min(udpLength, 0xffff));
    out[6] = UDP;
    out[7] = 64;
    out.set(ipv6(from.host), 8);
    out.set(ipv6(to.host), 24);
  } else {
    out[0] = 0x45;
    view.setUint16(2, Math.min(ipHeader + udpLength, 0xffff));
    out[8] = 64;
    out[9] = UDP;
    out.set(ipv4(from.host), 12);
    out.set(ipv4(to.host), 16);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += view.getUint16(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
    view.setUint16(10, ~sum & 0xffff);
  }
  view.setUint16(ipHeader, from.port);
  view.setUint16(ipHeader + 2, to.port);
  view.setUint16(ipHeader + 4, Math.min(udpLength, 0xffff));
  // UDP checksum 0: "not computed" (allowed for IPv4; Wireshark shows it as unverified for IPv6).
  out.set(d.bytes, ipHeader + 8);
  return out;
}

/** A classic pcap file (microsecond timestamps) of a case's timeline or a relay's record. */
export function writePcap(timeline: PcapDatagram[], startEpochMs = Date.now() - (timeline.at(-1)?.t ?? 0)): Uint8Array {
  const packets = timeline.map((d) => ({ t: startEpochMs + d.t, data: ipPacket(d) }));
  const size = 24 + packets.reduce((n, p) => n + 16 + p.data.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0xa1b2c3d4, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setUint32(16, 65535, true);
  view.setUint32(20, LINKTYPE_RAW, true);
  let at = 24;
  for (const p of packets) {
    const micros = Math.round(p.t * 1000);
    view.setUint32(at, Math.floor(micros / 1e6), true);
    view.setUint32(at + 4, micros % 1e6, true);
    view.setUint32(at + 8, p.data.length, true);
    view.setUint32(at + 12, p.data.length, true);
    out.set(p.data, at + 16);
    at += 16 + p.data.length;
  }
  return out;
}
