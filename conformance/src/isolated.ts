// Cases whose verdict rests on the tester's timestamps (the retransmission schedule) run
// on a worker thread of their own: other cases on the runner's thread - key agreement in
// JavaScript, garbage collection, bursts of datagrams - would otherwise delay when the
// tester notices a datagram, making one gap look longer and the next shorter.
import { Worker } from 'node:worker_threads';
import type { CaseRecord } from './case-context.js';
import type { CaseContext, Observation } from './kit/case.js';

export interface IsolatedRequest {
  caseId: string;
  endpoint: CaseContext['endpoint'];
  /** The runner's crypto backend: a worker thread has its own module state and must choose again. */
  cryptoBackend: string;
  seed: number;
}

export interface IsolatedResult {
  record: CaseRecord;
  keyLog: string;
  /** How the case ended: null when it passed; clause null for an error of the case itself. */
  failure: { clause: string | null; message: string; observation: Observation | null } | null;
}

// Built, the worker is a JavaScript file. Run from the sources (as the tests do), it is
// TypeScript: a small bootstrap registers tsx's loader in the worker first.
const fromSources = import.meta.url.endsWith('.ts');
const workerFile = new URL(fromSources ? './isolated-worker.ts' : './isolated-worker.js', import.meta.url);
const tsBootstrap =
  `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(workerFile.href)}); ` +
  `});`;

export interface IsolatedRun {
  result: Promise<IsolatedResult>;
  stop(): void;
}

export function runIsolated(request: IsolatedRequest): IsolatedRun {
  const worker = fromSources
    ? new Worker(tsBootstrap, { eval: true, workerData: request })
    : new Worker(workerFile, { workerData: request });
  const result = new Promise<IsolatedResult>((resolve, reject) => {
    worker.once('message', (m: IsolatedResult) => resolve(m));
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(`the isolated case's worker ended with code ${code} before it reported`)),
    );
  });
  return { result, stop: () => void worker.terminate() };
}
