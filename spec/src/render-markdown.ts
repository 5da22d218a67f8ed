// Renders the spec JSON as SPEC.md. The Markdown is derived, never edited by hand:
// a test in this package fails when the committed SPEC.md differs from this output.
import type { Field, HeaderByte, QotpSpec } from './types.js';

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

export function renderSpecMarkdown(spec: QotpSpec): string {
  const out: string[] = [];
  const push = (...blocks: string[]) => out.push(...blocks, '');

  push(
    `# ${spec.protocol} ${spec.protocolVersion} wire specification`,
    '<!-- Generated from spec/qotp.spec.json by `npm run spec:generate`. Do not edit by hand. -->',
  );
  push(
    '## Provenance',
    bullets([
      `README: ${spec.provenance.readme.module} ${spec.provenance.readme.version}. ${spec.provenance.readme.note}`,
      `Code: ${spec.provenance.code.module} ${spec.provenance.code.version}. ${spec.provenance.code.note}`,
      `Byte order: ${spec.byteOrder} for every multi-byte integer.`,
    ]),
  );

  push(
    '## Constants',
    table(
      ['name', 'value', 'unit', 'Go', 'description'],
      Object.entries(spec.constants).map(([name, c]) => [`\`${name}\``, c.value, c.unit, c.goName ?? '', c.description]),
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
      `Type code ${m.type}, sent by the ${m.sentBy === 'both' ? 'initiator and the responder' : m.sentBy}; ${m.encrypted ? 'encrypted' : 'not encrypted'}.`,
    ];
    if (m.secret) {
      facts.push(
        `Sealed with X25519(${m.secret.ecdh[0]}, ${m.secret.ecdh[1]}); ${m.secret.forwardSecret ? 'forward secret' : 'not forward secret'}. ${m.secret.description}`,
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
      `Minimum size: ${m.minSize.accepted} accepted, ${m.minSize.withMinimalPayload} with a minimal payload. ${m.minSize.description}`,
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
    `${p.offsetWidths.rule} Narrow offsets are ${p.offsetWidths.narrowBytes} bytes (up to ${p.offsetWidths.narrowMax}), wide ones ${p.offsetWidths.wideBytes}.`,
  );
  push('### Kinds of payload', table(['kind', 'on the wire', 'decoder rule'], p.kinds.map((k) => [k.name, k.onTheWire, k.decoderRule])));

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
      r.transmissions.map((t) => [t.number, t.waitFactor === null ? 'none: the connection gives up' : `${t.waitFactor} x RTO`]),
    ),
  );

  push(
    '## Clauses',
    'Each clause is one testable statement; `testedBy` names the parts of this suite that check it.',
    table(
      ['id', 'level', 'statement', 'source', 'tested by'],
      spec.clauses.map((c) => [
        `\`${c.id}\``,
        c.level,
        `**${c.title}.** ${c.text}${c.interop ? ` *Interoperating with the Go original:* ${c.interop}` : ''}`,
        [c.source.readme ? `README: ${c.source.readme}` : '', c.source.go ? `Go: ${c.source.go.join(', ')}` : '']
          .filter(Boolean)
          .join('; '),
        c.testedBy.join(', '),
      ]),
    ),
  );

  push('## Errata', 'Places where the upstream README and the code disagree; the code\'s behaviour on the wire is what this spec states.');
  for (const e of spec.errata) {
    push(
      `### ${e.id}: ${e.title}`,
      bullets([
        `README: ${e.readme}`,
        `Code: ${e.actual}`,
        `Evidence: Go ${e.evidence.go.join(', ')}${e.evidence.vectors ? `; vectors ${e.evidence.vectors.join(', ')}` : ''}${e.evidence.observed ? `; observed: ${e.evidence.observed}` : ''}.`,
        `Clauses: ${e.clauses.map((c) => `\`${c}\``).join(', ')}.`,
      ]),
    );
  }
  return out.join('\n');
}
