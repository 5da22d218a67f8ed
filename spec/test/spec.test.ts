import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { constant, headerSize, spec, specSchemaPath } from '../src/index.js';
import { renderSpecMarkdown } from '../src/render-markdown.js';
import type { Field, MessageName } from '../src/types.js';

const schema = JSON.parse(readFileSync(specSchemaPath, 'utf8'));

describe('spec document', () => {
  it('validates against its JSON Schema', () => {
    const validate = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
    const ok = validate(spec);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('rejects a document with an unknown property (the schema is closed)', () => {
    const validate = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
    expect(validate({ ...spec, surprise: true })).toBe(false);
  });

  it('has unique clause ids and errata ids', () => {
    const ids = spec.clauses.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    const errata = spec.errata.map((e) => e.id);
    expect(new Set(errata).size).toBe(errata.length);
  });

  it('refers from errata only to clauses that exist', () => {
    const ids = new Set(spec.clauses.map((c) => c.id));
    for (const e of spec.errata) for (const c of e.clauses) expect(ids, `${e.id} -> ${c}`).toContain(c);
  });

  it('has clauses for every message type, the payload, nonce, SN rules and window', () => {
    const ids = spec.clauses.map((c) => c.id);
    for (const prefix of [
      'crypto.init-snd.',
      'crypto.init-rcv.',
      'crypto.init-crypto-snd.',
      'crypto.init-crypto-rcv.',
      'crypto.data.',
      'crypto.nonce.',
      'crypto.sn.',
      'crypto.epoch.',
      'payload.',
      'window.',
    ]) {
      expect(ids.some((id) => id.startsWith(prefix)), prefix).toBe(true);
    }
  });
});

describe('layouts agree with the constants', () => {
  const sizeOf = (f: Field) => (typeof f.size === 'number' ? f.size : 0);

  it('derived header sizes match their parts', () => {
    const hdr = constant('HeaderSize');
    const id = constant('ConnIdSize');
    const key = constant('PubKeySize');
    expect(constant('MinInitRcvSizeHdr')).toBe(hdr + id + 2 * key);
    expect(constant('MinInitCryptoSndSizeHdr')).toBe(hdr + 2 * key);
    expect(constant('MinInitCryptoRcvSizeHdr')).toBe(hdr + id + key);
    expect(constant('MinDataSizeHdr')).toBe(hdr + id);
    expect(constant('FooterDataSize')).toBe(constant('SnSize') + constant('MacSize'));
    expect(constant('MinPacketSize')).toBe(
      constant('MinDataSizeHdr') + constant('FooterDataSize') + constant('MinProtoSize'),
    );
  });

  it.each(['InitRcv', 'InitCryptoSnd', 'InitCryptoRcv', 'Data'] as MessageName[])(
    '%s: fields are contiguous and the AAD ends where the masked SN starts',
    (name) => {
      const fields = spec.messages[name].fields;
      let next = 0;
      for (const f of fields) {
        if (typeof f.offset !== 'number') break;
        expect(f.offset, `${name}.${f.name}`).toBe(next);
        next += sizeOf(f);
      }
      const sn = fields.find((f) => f.name === 'sn');
      expect(sn?.offset).toBe(headerSize(name));
      expect(sn?.size).toBe(constant('SnSize'));
      const tag = fields.find((f) => f.name === 'tag');
      expect(tag).toMatchObject({ offset: 'end', size: constant('MacSize') });
    },
  );

  it('minimum sizes follow from header, footer and minimal payload', () => {
    for (const name of ['InitRcv', 'InitCryptoRcv'] as MessageName[]) {
      const m = spec.messages[name];
      expect(m.minSize.accepted).toBe(headerSize(name) + constant('FooterDataSize'));
      expect(m.minSize.withMinimalPayload).toBe(
        headerSize(name) + constant('FooterDataSize') + constant('MinProtoSize'),
      );
    }
    expect(spec.messages.Data.minSize.accepted).toBe(constant('MinPacketSize'));
  });

  it('the retransmission table matches MaxTransmissions and the backoff factor', () => {
    const t = spec.retransmission.transmissions;
    expect(t).toHaveLength(constant('MaxTransmissions'));
    expect(constant('MaxTransmissions')).toBe(constant('MaxRetry') + 1);
    t.forEach((row, i) => {
      expect(row.number).toBe(i + 1);
      const expected = i + 1 <= constant('MaxRetry') ? (constant('RtoBackoffPercent') / 100) ** i : null;
      expect(row.waitFactor).toBe(expected);
    });
  });

  it('the header bit fields fill exactly one byte without overlap', () => {
    for (const header of [spec.cryptoHeader, spec.payload.header]) {
      let used = 0;
      for (const b of header.bits) {
        const mask = ((1 << b.width) - 1) << b.shift;
        expect(used & mask).toBe(0);
        used |= mask;
      }
      expect(used).toBe(0xff);
    }
  });
});

describe('SPEC.md', () => {
  it('is the rendering of the current spec JSON (run `npm run spec:generate` when this fails)', () => {
    const committed = readFileSync(fileURLToPath(new URL('../SPEC.md', import.meta.url)), 'utf8');
    expect(committed).toBe(renderSpecMarkdown(spec));
  });

  it('has a table row for every field of every message', () => {
    const md = renderSpecMarkdown(spec);
    for (const [name, m] of Object.entries(spec.messages)) {
      expect(md).toContain(`### ${name}`);
      for (const f of m.fields) expect(md).toContain(`\`${f.name}\``);
    }
  });
});
