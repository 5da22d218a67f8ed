// The case-authoring kit: everything a case file imports, from one place. A case is a
// CaseDefinition (case.ts) whose run() scripts the tester (script.ts, payloads.ts), reads
// back what the endpoint did (observe.ts) and checks it under a clause (verify.ts and
// ctx.expect); shapes.ts holds the common wrappers, client-peer.ts the client-role session,
// timing.ts the waits and the retransmission schedule.
export * from './case.js';
export * from './client-peer.js';
export * from './observe.js';
export * from './payloads.js';
export * from './script.js';
export * from './shapes.js';
export * from './timing.js';
export * from './verify.js';
