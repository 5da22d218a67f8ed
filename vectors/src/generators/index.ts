// Builds every vector file from the reference implementation.
import type { VectorFileName, VectorFiles } from '../types.js';
import { generateCryptoMessages, generateInvalidPackets } from './packets.js';
import { generatePayloads } from './payloads.js';
import { generateRto } from './rto.js';
import { generateRcvBuffer } from './rcv-buffer.js';
import { generateSnMask } from './sn-mask.js';
import { generateUint } from './uint.js';
import { generateWindow } from './window.js';

export { serializeVectorFile } from './envelope.js';

export const generators: { [N in VectorFileName]: () => VectorFiles[N] } = {
  'uint-codec': generateUint,
  'rcv-window': generateWindow,
  payloads: generatePayloads,
  'crypto-messages': generateCryptoMessages,
  'invalid-packets': generateInvalidPackets,
  rto: generateRto,
  'sn-mask': generateSnMask,
  'rcv-buffer': generateRcvBuffer,
};
