import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { constant, headerSize, pinnedRelease, spec } from '../src/index.js';
import { renderSpecMarkdown, withFindingsTable } from '../src/render-markdown.js';
import type { Field, MessageName } from '../src/types.js';

const schema = JSON.parse(readFileSync(fileURLToPath(new URL('../qotp.spec.schema.json', import.meta.url)), 'utf8'));

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
      expect(
        ids.some((id) => id.startsWith(prefix)),
        prefix,
      ).toBe(true);
    }
  });
});

describe('state machines', () => {
  const clauseIds = new Set(spec.clauses.map((c) => c.id));

  it('has the five transition tables: both handshakes, the connection and both stream directions', () => {
    expect(spec.stateMachines.map((m) => m.id).sort()).toEqual([
      'connection-lifetime',
      'initiator-handshake',
      'responder-handshake',
      'stream-receive',
      'stream-send',
    ]);
  });

  it.each(spec.stateMachines.map((m) => [m.id, m] as const))(
    '%s: rows name declared states and existing clauses, and every state is reachable and used',
    (_, m) => {
      const states = new Set(m.states.map((s) => s.id));
      expect(states.size).toBe(m.states.length);
      expect(states.has(m.initial)).toBe(true);
      for (const t of m.transitions) {
        expect(states, `row "${t.from} / ${t.event}"`).toContain(t.from);
        expect(states, `row "${t.from} / ${t.event}"`).toContain(t.to);
        for (const c of t.clauses) expect(clauseIds, `row "${t.from} / ${t.event}"`).toContain(c);
      }
      // Reachable from the initial state through the rows.
      const reached = new Set([m.initial]);
      for (let grew = true; grew;) {
        grew = false;
        for (const t of m.transitions) if (reached.has(t.from) && !reached.has(t.to)) grew = reached.add(t.to) !== null;
      }
      expect([...states].filter((s) => !reached.has(s))).toEqual([]);
      const rowIds = m.transitions.map((t) => t.id);
      expect(rowIds.filter((r, i) => rowIds.indexOf(r) !== i)).toEqual([]);
      // Two rows for one state and event differ by their guards.
      const keys = m.transitions.map((t) => `${t.from} / ${t.event} / ${t.guard ?? ''}`);
      expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
    },
  );
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

  it.each(['../../README.md', '../../interop/README.md'])(
    '%s carries the current findings table (npm run spec:generate)',
    (doc) => {
      const text = readFileSync(fileURLToPath(new URL(doc, import.meta.url)), 'utf8');
      expect(text).toContain('<!-- findings-table:');
      expect(text).toBe(withFindingsTable(text, spec));
    },
  );

  it('has a table row for every field of every message', () => {
    const md = renderSpecMarkdown(spec);
    for (const [name, m] of Object.entries(spec.messages)) {
      expect(md).toContain(`### ${name}`);
      for (const f of m.fields) expect(md).toContain(`\`${f.name}\``);
    }
  });
});

describe('releases, findings and profiles', () => {
  const releases = spec.releases.map((r) => r.version);
  const findings = new Map(spec.findings.map((f) => [f.id, f]));
  const clauseIds = new Set(spec.clauses.map((c) => c.id));

  it('pins exactly one release, the one the code provenance names, and has a profile for every other', () => {
    expect(spec.releases.filter((r) => r.role === 'pinned')).toHaveLength(1);
    expect(pinnedRelease().version).toBe(spec.provenance.code.version);
    expect(spec.profiles.map((p) => p.release).sort()).toEqual(
      spec.releases
        .filter((r) => r.role === 'profile')
        .map((r) => r.version)
        .sort(),
    );
  });

  it('says for every clause, in every release, whether the Go original holds to it, and why not', () => {
    for (const c of spec.clauses) {
      expect(Object.keys(c.goOriginal).sort(), c.id).toEqual([...releases].sort());
      for (const [r, g] of Object.entries(c.goOriginal)) {
        if (!g.holds)
          expect((g.findings?.length ?? 0) > 0 || g.note !== undefined, `${c.id} ${r}: no finding and no note`).toBe(
            true,
          );
        if (g.holds) expect(g.findings, `${c.id} ${r}: holds but names findings`).toBeUndefined();
        for (const id of g.findings ?? []) {
          expect(findings.has(id), `${c.id} -> ${id}`).toBe(true);
          expect(
            ['present', 'changed'],
            `${c.id} ${r} cites ${id}, which is ${findings.get(id)?.releases[r]?.status} there`,
          ).toContain(findings.get(id)?.releases[r]?.status);
        }
      }
    }
  });

  it('gives every finding a state in every release, and a present finding marks its clauses as not held', () => {
    const byId = new Map(spec.clauses.map((c) => [c.id, c]));
    for (const f of spec.findings) {
      expect(Object.keys(f.releases).sort(), f.id).toEqual([...releases].sort());
      for (const c of f.clauses) expect(clauseIds, `${f.id} -> ${c}`).toContain(c);
      for (const [r, state] of Object.entries(f.releases)) {
        if (state.status !== 'present') continue;
        for (const c of f.clauses)
          expect(
            byId.get(c)?.goOriginal[r]?.findings ?? [],
            `${f.id} is present in ${r}, so ${c} must cite it`,
          ).toContain(f.id);
      }
    }
  });

  it('has a profile entry for every clause whose Go behaviour differs from the pinned release', () => {
    const pinned = pinnedRelease().version;
    for (const p of spec.profiles) {
      const covered = new Set(p.differences.flatMap((d) => ('clause' in d ? [d.clause] : [])));
      const differing = spec.clauses
        .filter((c) => c.goOriginal[p.release]?.holds !== c.goOriginal[pinned]?.holds)
        .map((c) => c.id);
      expect(
        differing.filter((id) => !covered.has(id)),
        `${p.release}: clauses without a profile entry`,
      ).toEqual([]);
      for (const d of p.differences) {
        expect(
          ['clause', 'constant', 'erratum'].filter((k) => k in d),
          `${p.release}: ${d.behaviour.slice(0, 40)}`,
        ).toHaveLength(1);
        if ('clause' in d) expect(clauseIds).toContain(d.clause);
        if ('constant' in d) expect(Object.keys(spec.constants)).toContain(d.constant);
        if ('erratum' in d) expect(spec.errata.map((e) => e.id)).toContain(d.erratum);
      }
    }
  });
});
