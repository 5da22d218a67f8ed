// Opening a case's capture in Wireshark's tshark, decrypted: the command a user pastes. The
// dissector is wireshark/qotp.lua, copied into this package when it is built (dist/qotp.lua), so
// that it is there for a user of the packed package too.
import { fileURLToPath } from 'node:url';

/** Where the dissector is: the same path from src/capture (tests) and dist/capture (the package). */
export const DISSECTOR = fileURLToPath(new URL('../../dist/qotp.lua', import.meta.url));

/** A word of a shell command, quoted where the shell would read it otherwise. */
export const shellWord = (w: string): string => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", "'\\''")}'`);

/**
 * The tshark command that shows `pcap` decoded, its payloads opened with the secrets of `keylog`.
 * UDP tries the dissector registered for a port before any heuristic one, and ephemeral ports
 * collide with registered ones (37008 is TZSP's, 44818 EtherNet/IP's): the heuristic goes first.
 */
export function tsharkCommand(pcap: string, keylog: string): string {
  const options = ['-o', 'udp.try_heuristic_first:TRUE', '-o', `qotp.keylog_file:${keylog}`];
  return ['tshark', '-X', `lua_script:${DISSECTOR}`, ...options, '-r', pcap].map(shellWord).join(' ');
}
