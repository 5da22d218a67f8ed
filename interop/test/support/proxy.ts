// A recording UDP relay between one client and one server on loopback: clients are
// pointed at it, it forwards both ways and keeps every datagram with its direction.
// QOTP matches packets by connection id, so the relay is invisible to both ends.
import { createSocket } from 'node:dgram';
import { parseHostPort } from '@qotp/reference/node';

export interface Captured {
  fromClient: boolean;
  data: Uint8Array;
  /** When the relay received it, ms since the relay started (performance.now scale). */
  t: number;
}

export interface Proxy {
  address: string;
  captured: Captured[];
  close(): Promise<void>;
}

export async function startProxy(server: string): Promise<Proxy> {
  const target = parseHostPort(server);
  const udp = createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  // The relay runs in the busy test process: give it room for bursts (capped by net.core.rmem_max).
  udp.setRecvBufferSize(4 * 1024 * 1024);
  udp.setSendBufferSize(4 * 1024 * 1024);
  const captured: Captured[] = [];
  const started = performance.now();
  let client: { address: string; port: number } | null = null;
  udp.on('message', (msg, rinfo) => {
    const fromServer = rinfo.port === target.port && rinfo.address === target.host;
    captured.push({ fromClient: !fromServer, data: new Uint8Array(msg), t: performance.now() - started });
    if (fromServer) {
      if (client !== null) udp.send(msg, client.port, client.address);
    } else {
      client = { address: rinfo.address, port: rinfo.port };
      udp.send(msg, target.port, target.host);
    }
  });
  return {
    address: `127.0.0.1:${udp.address().port}`,
    captured,
    close: () => new Promise((resolve) => udp.close(() => resolve())),
  };
}
