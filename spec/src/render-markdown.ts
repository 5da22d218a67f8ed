// Renders the spec JSON as SPEC.md. The Markdown is derived, never edited by hand:
// a test in this package fails when the committed SPEC.md differs from this output.
import type { Clause, Evidence, Field, HeaderByte, QotpSpec, StateMachine } from './types.js';

const cell = (text: string | number): string => String(text).replaceAll('|', '\\|').replaceAll('\n', ' ');

function table(head: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

function bitTable(header: HeaderByte): string {
  return table(
    ['bits', 'name', 'meaning'],
    header.bits.map((b) => {
      const high = b.shift + b.width - 1;
      return [b.width === 1 ? `${b.shift}` : `${b.shift}-${high}`, `\`${b.name}\``, b.description];
    }),
  );
}

function fieldTable(fields: Field[], withProtection: boolean): string {
  const head = ['offset', 'size', 'field', 'encoding', ...(withProtection ? ['protection'] : []), 'description'];
  return table(
    head,
    fields.map((f) => [
      f.offset === 'end' ? `last ${f.size}` : f.offset === 'after-previous' ? 'next' : f.offset,
      f.size,
      `\`${f.name}\``,
      f.encoding,
      ...(withProtection ? [f.protection ?? ''] : []),
      f.description,
    ]),
  );
}

const bullets = (items: string[]): string => items.map((i) => `- ${i}`).join('\n');

const releaseOrder = (spec: QotpSpec): string[] => spec.releases.map((r) => r.version);
const yes = (b: boolean): string => (b ? 'yes' : '');

/** "v0.2.18: no (G8); v0.2.19: yes" for a clause's row. */
function goColumn(spec: QotpSpec, c: Clause): string {
  return releaseOrder(spec)
    .map((r) => {
      const g = c.goOriginal[r];
      if (g === undefined) return `${r}: ?`;
      if (g.holds) return `${r}: yes`;
      const why = [...(g.findings ?? []), ...(g.note ? [g.note] : [])].join(', ');
      return `${r}: no (${why})`;
    })
    .join('; ');
}

const FINDINGS_START = '<!-- findings-table: generated from spec/qotp.spec.json by `npm run spec:generate` -->';
const FINDINGS_END = '<!-- /findings-table -->';

/**
 * A Markdown document with its copy of the findings table brought up to date: the table sits
 * between the two marker comments; a document without them is returned unchanged.
 */
export function withFindingsTable(doc: string, spec: QotpSpec): string {
  const start = doc.indexOf(FINDINGS_START);
  const end = doc.indexOf(FINDINGS_END);
  if (start < 0 || end < start) return doc;
  return `${doc.slice(0, start + FINDINGS_START.length)}\n\n${findingsTable(spec)}\n\n${doc.slice(end)}`;
}

/** The findings x releases table; README.md and interop/README.md carry a copy (see withFindingsTable). */
export function findingsTable(spec: QotpSpec): string {
  const releases = releaseOrder(spec);
  return table(
    ['id', 'finding', ...releases, 'clauses'],
    spec.findings.map((f) => [
      f.id,
      f.title,
      ...releases.map((r) => f.releases[r]?.status ?? '?'),
      f.clauses.map((c) => `\`${c}\``).join(', ') || '(none)',
    ]),
  );
}

const evidence = (e: Evidence): string =>
  `Go ${e.go.join(', ')}` +
  (e.vectors ? `; vectors ${e.vectors.join(', ')}` : '') +
  (e.observed ? `; observed: ${e.observed}` : '');

/** A state machine as its states, its transition table and a Mermaid diagram of the same rows. */
function stateMachine(m: StateMachine): string[] {
  const node = (state: string) => state.replace(/-/g, '_');
  const edges = [
    ...new Set(m.transitions.map((t) => `  ${node(t.from)} --> ${node(t.to)}: ${t.event.replace(/[:;]/g, ',')}`)),
  ];
  return [
    table(
      ['state', 'meaning'],
      m.states.map((st) => [st.id === m.initial ? `\`${st.id}\` (initial)` : `\`${st.id}\``, st.description]),
    ),
    table(
      ['row', 'state', 'event', 'guard', 'action', 'next state', 'clauses'],
      m.transitions.map((t) => [
        `\`${t.id}\``,
        `\`${t.from}\``,
        t.event,
        t.guard ?? '',
        t.action,
        `\`${t.to}\``,
        t.clauses.map((c) => `\`${c}\``).join(', '),
      ]),
    ),
    ['```mermaid', 'stateDiagram-v2', `  [*] --> ${node(m.initial)}`, ...edges, '```'].join('\n'),
  ];
}

export function renderSpecMarkdown(spec: QotpSpec): string {
  const out: string[] = [];
  // A blank line after every block: two tables in a row would otherwise read as one.
  const push = (...blocks: string[]) => out.push(...blocks.flatMap((block) => [block, '']));

  push(
    `# ${spec.protocol} ${spec.protocolVersion} wire specification`,
    '<!-- Generated from spec/qotp.spec.json by `npm run spec:generate`. Do not edit by hand. -->',
  );
  push(
    '## Provenance',
    bullets([
      `README: ${spec.provenance.readme.module} ${spec.provenance.readme.version}. ${spec.provenance.readme.note}`,
      `Code: ${spec.provenance.code.module} ${spec.provenance.code.version}. ${spec.provenance.code.note}`,
      ...spec.releases.map(
        (r) =>
          `Release ${r.version} (${r.date}), ` +
          (r.role === 'pinned' ? 'pinned: what this spec states' : 'a profile: see its differences below') +
          `. ${r.checked}`,
      ),
      `Byte order: ${spec.byteOrder} for every multi-byte integer.`,
    ]),
  );

  push(
    '## Constants',
    table(
      ['name', 'value', 'unit', 'Go', 'description'],
      Object.entries(spec.constants).map(([name, c]) => [
        `\`${name}\``,
        c.value,
        c.unit,
        c.goName ?? '',
        c.description,
      ]),
    ),
  );

  push('## Crypto layer', '### Header byte', spec.cryptoHeader.description, bitTable(spec.cryptoHeader));
  push(
    '### Message types',
    table(
      ['code', 'name', 'sent by', 'description'],
      spec.messageTypes.map((t) => [t.code, t.name, t.sentBy, t.description]),
    ),
  );

  for (const [name, m] of Object.entries(spec.messages)) {
    const facts = [
      `Type code ${m.type}, sent by the ${m.sentBy === 'both' ? 'initiator and the responder' : m.sentBy}; ` +
        `${m.encrypted ? 'encrypted' : 'not encrypted'}.`,
    ];
    if (m.secret) {
      facts.push(
        `Sealed with X25519(${m.secret.ecdh[0]}, ${m.secret.ecdh[1]}); ` +
          `${m.secret.forwardSecret ? 'forward secret' : 'not forward secret'}. ${m.secret.description}`,
      );
    }
    if (m.directionBit !== undefined) {
      facts.push(
        m.directionBit === 'by-role'
          ? 'Nonce direction bit: 1 when the initiator seals, 0 when the responder seals.'
          : `Nonce direction bit: ${m.directionBit}.`,
      );
    }
    if (m.aadSize !== undefined) facts.push(`AAD: the first ${m.aadSize} bytes.`);
    if (m.paddedTo) facts.push(`Padded to the sender's MTU.`);
    facts.push(
      `Minimum size: ${m.minSize.accepted} accepted, ${m.minSize.withMinimalPayload} with a minimal ` +
        `payload. ${m.minSize.description}`,
    );
    push(`### ${name}`, m.description, bullets(facts), fieldTable(m.fields, true));
    if (m.plaintext) push(`Sealed plaintext of ${name}:`, fieldTable(m.plaintext, false));
  }

  push('### Nonce', spec.nonce.description, fieldTable(spec.nonce.fields, false), spec.nonce.directionBit.description);
  push(
    '### Sequence-number masking',
    spec.snMasking.description,
    bullets([
      `Cipher: ${spec.snMasking.cipher}, block counter ${spec.snMasking.counter}.`,
      `Key: ${spec.snMasking.key}.`,
      `Nonce (${spec.snMasking.nonceSize} bytes): ${spec.snMasking.nonceFrom}.`,
      `Masked bytes: ${spec.snMasking.maskedBytes}.`,
    ]),
  );
  push(
    '### Epochs',
    spec.epochs.description,
    `Sequence numbers have ${spec.epochs.snBits} bits, epochs ${spec.epochs.epochBits}. Decryption tries, in order:`,
    bullets(spec.epochs.decryptOrder),
  );

  const p = spec.payload;
  push('## Payload layer', p.description, '### Header byte', bitTable(p.header));
  push(
    '### Types',
    table(
      ['code', 'name', 'close', 'ACK section'],
      p.types.map((t) => [t.code, t.name, t.isClose ? 'yes' : 'no', t.hasAck ? 'yes' : 'no']),
    ),
  );
  push('### ACK section (types with ACK)', fieldTable(p.ackSection, false));
  push('### Stream section', fieldTable(p.streamSection, false));
  push(
    '### Offset width',
    `${p.offsetWidths.rule} Narrow offsets are ${p.offsetWidths.narrowBytes} bytes (up ` +
      `to ${p.offsetWidths.narrowMax}), wide ones ${p.offsetWidths.wideBytes}.`,
  );
  push(
    '### Kinds of payload',
    table(
      ['kind', 'on the wire', 'decoder rule'],
      p.kinds.map((k) => [k.name, k.onTheWire, k.decoderRule]),
    ),
  );

  const w = spec.receiveWindow;
  push(
    '## Receive window code',
    w.description,
    '### Encoding',
    bullets(w.encode),
    '### Decoding',
    bullets(w.decode),
    `Largest decoded window: ${w.maxDecoded} bytes.`,
  );

  const r = spec.retransmission;
  push(
    '## Retransmission',
    r.description,
    bullets(r.rtoRules),
    table(
      ['transmission', 'next one after'],
      r.transmissions.map((t) => [
        t.number,
        t.waitFactor === null ? 'none: the connection gives up' : `${t.waitFactor} x RTO`,
      ]),
    ),
  );

  push(
    '## State machines',
    'Each machine is a transition table: in a state, on an event (when the guard holds), an endpoint does the ' +
      'action and moves to the next state. Every row names the clauses that state it; the diagram shows the same ' +
      'rows.',
  );
  for (const m of spec.stateMachines) push(`### ${m.title}`, m.description, ...stateMachine(m));

  push(
    '## Clauses',
    'Each clause is one testable statement; `testedBy` names the parts of this suite that check it, and its ' +
      "class what kind of rule it is: about one **datagram**, about the **sequence** of one connection's " +
      'datagrams in one direction, **across connections**, or a **scenario** only a case can set up. Rules of ' +
      'the first three classes are the ones a monitor can judge on every datagram (conformance/CASES.md lists ' +
      "the monitor's).",
    table(
      ['id', 'level', 'statement', 'source', 'tested by', 'class', 'Go original behaves so'],
      spec.clauses.map((c) => [
        `\`${c.id}\``,
        c.level,
        `**${c.title}.** ${c.text}${c.interop ? ` *Interoperating with the Go original:* ${c.interop}` : ''}`,
        [c.source.readme ? `README: ${c.source.readme}` : '', c.source.go ? `Go: ${c.source.go.join(', ')}` : '']
          .filter(Boolean)
          .join('; '),
        c.testedBy.join(', '),
        c.class,
        goColumn(spec, c),
      ]),
    ),
  );

  push(
    '## Errata',
    "Places where the upstream README and the code disagree; the code's behaviour on the wire is what this " +
      'spec states.',
  );
  for (const e of spec.errata) {
    push(
      `### ${e.id}: ${e.title}`,
      bullets([
        `README: ${e.readme}`,
        `Code: ${e.actual}`,
        `Evidence: ${evidence(e.evidence)}.`,
        `Clauses: ${e.clauses.map((c) => `\`${c}\``).join(', ')}.`,
      ]),
    );
  }

  push(
    '## Findings about the Go original',
    'Defects found by this suite, in every release it knows: *present*, *fixed* (an earlier release had it), ' +
      '*changed* (still there in another form) or *absent* (the release predates it).',
    findingsTable(spec),
  );
  for (const f of spec.findings) {
    push(
      `### ${f.id}: ${f.title}`,
      f.description,
      bullets(
        releaseOrder(spec).map((r) => `${r}: **${f.releases[r]?.status ?? '?'}**. ${f.releases[r]?.evidence ?? ''}`),
      ),
    );
  }

  for (const p of spec.profiles) {
    const what = (d: (typeof p.differences)[number]) =>
      'clause' in d
        ? `clause \`${d.clause}\``
        : 'constant' in d
          ? `constant \`${d.constant}\``
          : `erratum ${d.erratum}`;
    push(
      `## Profile: ${p.release}`,
      p.summary,
      table(
        ['what', `${p.release} instead`, 'evidence'],
        p.differences.map((d) => [what(d), d.behaviour, evidence(d.evidence)]),
      ),
    );
  }
  const next = spec.next;
  if (next !== undefined) {
    push(
      `## Next revision: ${next.branch} ${next.revision} (${next.date}, not released; ${next.status})`,
      next.summary,
      `Verified: ${next.checked}`,
      table(
        ['area', `${next.revision} instead`, 'evidence'],
        next.differences.map((d) => [d.area, d.behaviour, evidence(d.evidence)]),
      ),
      `Its payload: ${next.payload.description} ${next.payload.streamHeaderRule}`,
      table(
        ['bits', 'field', 'meaning'],
        next.payload.header.bits.map((b) => [
          b.width === 1 ? `${b.shift}` : `${b.shift}-${b.shift + b.width - 1}`,
          b.name,
          b.description,
        ]),
      ),
      table(
        ['type', 'name', 'CLOSE', 'MTU value', 'new key', "peer's new key"],
        next.payload.types.map((t) => [
          String(t.code),
          t.name,
          yes(t.isClose),
          yes(t.mtuUpdate),
          yes(t.keyUpdate),
          yes(t.keyUpdateAck),
        ]),
      ),
    );
  }
  return out.join('\n');
}
