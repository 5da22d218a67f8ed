// Every case of the suite, in report order.
import type { CaseDefinition } from '../kit/index.js';
import { clientCases } from './client.js';
import { closeCases } from './close.js';
import { connectionCases } from './connection.js';
import { encryptionCases } from './encryption.js';
import { handshakeCases } from './handshake.js';
import { impairCases } from './impair.js';
import { payloadCases } from './payload.js';
import { retransmissionCases } from './retransmission.js';
import { robustnessCases } from './robustness.js';
import { streamCases } from './streams.js';
import { vectorCases } from './vectors.js';

export const allCases: CaseDefinition[] = [
  ...handshakeCases,
  ...encryptionCases,
  ...vectorCases,
  ...payloadCases,
  ...streamCases,
  ...closeCases,
  ...retransmissionCases,
  ...robustnessCases,
  ...connectionCases,
  ...clientCases,
  ...impairCases,
];
