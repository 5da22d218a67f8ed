// "host:port" strings for IPv4 and "[host]:port" for IPv6, the address form the engine
// passes around.
import { QotpError } from '../errors.js';

export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(text: string): HostPort {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const port = Number(match?.[2]);
  if (match === null || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new QotpError('invalid-argument', `not a host:port address: '${text}' (IPv6 as [::1]:port)`);
  }
  return { host: match[1] as string, port };
}

export const formatHostPort = (host: string, port: number): string =>
  host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
