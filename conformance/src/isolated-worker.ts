// Worker-thread entry of an isolated case (see isolated.ts): runs one case with its own
// event loop and posts back its record, its key log and how it ended.
import { selectCryptoBackend } from '@qotp/reference/node';
import { parentPort, workerData } from 'node:worker_threads';
import { caseContext, emptyRecord, warmUp } from './case-context.js';
import { CheckFailure, type CaseContext } from './kit/case.js';
import { allCases } from './cases/index.js';
import type { IsolatedRequest, IsolatedResult } from './isolated.js';
import { keyLogOf } from './peer/tester-peer.js';

const unavailable = (what: string) => () => {
  throw new Error(`${what} is not available to a case that runs in isolation`);
};

async function run(request: IsolatedRequest): Promise<IsolatedResult> {
  const c = allCases.find((x) => x.id === request.caseId);
  if (c === undefined) throw new Error(`no case ${request.caseId}`);
  selectCryptoBackend(request.cryptoBackend);
  warmUp();
  const record = emptyRecord();
  const { ctx, peers, close } = caseContext(
    record,
    request.endpoint as CaseContext['endpoint'],
    {
      endpointOutput: unavailable('the endpoint output'),
      endpointKeyLog: unavailable('the endpoint key log'),
      startClient: unavailable('a client process'),
    },
    request.seed,
  );
  let failure: IsolatedResult['failure'] = null;
  try {
    await c.run(ctx);
  } catch (e) {
    failure =
      e instanceof CheckFailure
        ? { clause: e.clause, message: e.message, observation: e.observation }
        : { clause: null, message: (e as Error).stack ?? String(e), observation: null };
  } finally {
    close();
  }
  return { record, keyLog: keyLogOf(peers), failure };
}

parentPort?.postMessage(await run(workerData as IsolatedRequest));
