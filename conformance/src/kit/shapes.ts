// The shapes most cases take: a server-role case on an open connection whose every segment
// the tester acknowledges, and the same on a connection that already carried an echo.
import type { CaseContext, CaseDefinition } from './case.js';
import { type Open } from './observe.js';
import { equal, pattern } from './payloads.js';
import { autoAck, echo, handshake } from './script.js';

export type CaseHeader = Pick<CaseDefinition, 'id' | 'title' | 'clauses'> &
  Partial<Pick<CaseDefinition, 'level' | 'requires' | 'needsLaunch' | 'timeoutMs' | 'slow' | 'waitsOnTimer'>>;

/**
 * A server-role case (MUST and 10 s unless the header says otherwise) whose script starts
 * on an open connection whose every segment the tester acknowledges.
 */
export function onConnection(
  header: CaseHeader,
  script: (ctx: CaseContext, open: Open) => Promise<void>,
): CaseDefinition {
  return {
    level: 'MUST',
    role: 'server',
    timeoutMs: 10_000,
    ...header,
    async run(ctx: CaseContext) {
      const open = await handshake(ctx);
      autoAck(open);
      await script(ctx, open);
    },
  };
}

/** A case on a connection that already carried a 6000-byte echo, so the endpoint has sent Data. */
export function onWarmConnection(
  header: CaseHeader,
  script: (ctx: CaseContext, open: Open) => Promise<void>,
): CaseDefinition {
  return onConnection(header, async (ctx: CaseContext, open: Open) => {
    // The warm-up is what a case about the endpoint's own packets judges: without it there is
    // nothing beyond the handshake reply to look at.
    const data = pattern(6000);
    const got = await echo(open, 0, data);
    ctx.expect(
      'stream.ordered-delivery',
      equal(got, data),
      `the warm-up echo of ${data.length} bytes on stream 0 came back with ${got.length} bytes`,
    );
    await script(ctx, open);
  });
}
