// @qotp/reference/node: the engine on node:dgram, with Node streams.
export { QotpConnection, QotpSocket, QotpStream, type ListenOptions } from './socket.js';
export { identityPrivateKey, parsePublicKey, type IdentityOption } from './identity.js';
export { formatHostPort, parseHostPort, type HostPort } from './address.js';
export {
  nodeCryptoAvailable,
  nodeCryptoBackend,
  selectCryptoBackend,
  type CryptoBackendName,
} from './crypto-backend.js';
