// The planted defects: each is a way an implementer could get one rule wrong, put into an
// unmodified reference endpoint by the relay of defective-endpoint.ts (a client's, by that of
// defective-client.ts), and each names the cases that must fail under which clause
// (test/defects.test.ts runs them; CASES.md lists them against the clauses). Adding one: an
// entry here, its rewrite in the relay.

export interface PlantedDefect {
  /** What the relay does, in the words of the endpoint it imitates. */
  what: string;
  /**
   * [case, clause, rule?]: the case fails, naming the clause; with a rule, the protocol
   * monitor's rule fails it (a case about something else, whose own checks pass).
   */
  fails: [string, string, string?][];
}

export const PLANTED_DEFECTS = {
  'wrong-direction-bit': {
    what: "reseals the endpoint's Data packets with the initiator's direction bit",
    fails: [
      ['encryption.direction-bit', 'crypto.nonce.direction-bit'],
      // The diagnosis: the endpoint's packets do not open, and the report names the rule they
      // break, not the symptom (an echo with nothing in it).
      ['streams.in-order', 'crypto.nonce.direction-bit'],
    ],
  },
  'no-backoff': {
    what: "drops the endpoint's retransmissions and resends each first transmission every RTO instead (no doubling)",
    fails: [['retransmission.backoff', 'retransmission.backoff']],
  },
  'close-ignored': {
    what: "removes the CLOSE flag from the tester's packets",
    fails: [['close.responder', 'close.answer']],
  },
  'short-init-snd-answered': {
    what: 'pads a short InitSnd to the MTU, so the endpoint answers it',
    fails: [['handshake.init-snd-short', 'crypto.init-snd.min-size']],
  },
  'ack-length-off-by-one': {
    what: 'adds one to the length of every ACK the endpoint sends',
    // The second: a case about delivery, failed by the monitor rule it names.
    fails: [
      ['streams.ack-fields', 'ack.segment'],
      ['streams.in-order', 'ack.segment', 'ack-names-a-sent-segment'],
    ],
  },
  'sn-mask-counter-0': {
    what:
      're-masks the sequence number of every encrypted packet the endpoint sends with XChaCha20 block counter 0 ' +
      'instead of 1',
    fails: [['handshake.in-band', 'crypto.sn.masking']],
  },
  'unknown-id-by-address': {
    what:
      'a Data packet under a connection id the endpoint does not know, which opens with the keys of a connection ' +
      'it does know, is given that id (an endpoint that finds connections by source address)',
    fails: [['encryption.unknown-connection', 'crypto.data.layout']],
  },
  'window-always-full': {
    what: 'rewrites the window of every ACK the endpoint sends to the whole capacity, whatever it holds',
    fails: [['connection.window-advertised', 'flow.window-advertised']],
  },
  'window-counts-received': {
    what:
      'rewrites it to the capacity minus every byte the tester ever sent on the connection, as if reading freed ' +
      'nothing',
    fails: [['connection.window-advertised', 'flow.window-advertised']],
  },
  'rto-floor-1s': {
    what:
      "holds the endpoint's resends back until 1 s after the first transmission, as an RTO clamped to at least 1 " +
      's would',
    fails: [['retransmission.rto-min', 'retransmission.rto-formula']],
  },
  'rto-ceiling-3s': {
    what: 'holds them back until 3 s after it, as an RTO whose ceiling is 3 s (not 2 s) would after long RTT samples',
    fails: [['retransmission.rto-max', 'retransmission.rto-formula']],
  },
  'idle-not-refreshed': {
    what:
      'drops everything of a connection from 30 s after its first datagram on, as an idle timer that incoming ' +
      'packets do not restart would',
    fails: [['connection.idle-refresh', 'connection.idle-refresh']],
  },
  'low-order-answered': {
    what:
      'answers an InitSnd whose ephemeral key is a low-order point with a datagram under the connection id that ' +
      'key gives (the endpoint drops it)',
    fails: [['vectors.invalid.init-snd', 'crypto.keys.low-order']],
  },
  'no-next-epoch': {
    what:
      "drops the tester's Data packets that open only in a later epoch, as a decoder that never tries the next " +
      'epoch would',
    fails: [['encryption.next-epoch', 'crypto.epoch.decrypt-window']],
  },
  'small-window-as-zero': {
    what:
      'the endpoint reads every window below 64 KiB the tester advertises as 0 (a decoder that misreads small ' +
      'window codes)',
    fails: [['connection.small-window', 'window.decode']],
  },
  'small-window-larger': {
    what: 'it reads such a window as four times as large',
    fails: [['connection.small-window', 'flow.window-respected']],
  },
  'no-window-probe': {
    what:
      'drops every PING the endpoint sends after the handshake, as a sender that waits for the peer to reopen a ' +
      'closed window would',
    fails: [['connection.window-probe', 'flow.window-probe']],
  },
  'no-give-up-wait': {
    what:
      "passes a segment's sixth transmission and then nothing more of that connection, either way, as a sender " +
      'that closes right after the sixth would',
    fails: [['retransmission.give-up', 'retransmission.give-up-wait']],
  },
  'reply-ack-off-by-one': {
    what:
      "adds one to the length of the ACK in the endpoint's handshake replies, as a responder that acknowledges " +
      'the first packet with the wrong length would',
    fails: [
      ['handshake.in-band', 'handshake.init-snd-repeat'],
      ['handshake.0rtt', 'handshake.init-snd-repeat'],
    ],
  },
  'init-snd-moves-address': {
    what:
      'sends everything of a connection to the address its latest InitSnd came from, as an endpoint that takes a ' +
      'repeated InitSnd, which anyone can replay, as a move would',
    fails: [['handshake.init-snd-repeat-address', 'connection.any-source']],
  },
  'resends-every-segment': {
    what:
      'with each resend of a segment, also resends every later unacknowledged segment of its stream, as a sender ' +
      'that retransmits whatever timed out would',
    fails: [['retransmission.oldest-first', 'retransmission.oldest-first']],
  },
  'close-data-echoed': {
    what:
      "puts the data a CLOSE of the tester's carried into the endpoint's answering CLOSE, as an endpoint whose " +
      'application echoes that data before the CLOSE is answered would',
    fails: [['close.answer-position', 'close.answer']],
  },
  'tamper-accepted': {
    what:
      'undoes the one bit flip that makes a damaged packet of the tester open, as a receiver that does not check ' +
      'the tag would take it',
    fails: [
      ['encryption.tamper-ciphertext', 'crypto.aead.tamper'],
      ['encryption.tamper-tag', 'crypto.aead.tamper'],
    ],
  },
  'bad-header-accepted': {
    what:
      "gives a packet of the tester's with another crypto version or an unknown type the Data header byte back, " +
      'as a receiver that ignores the header byte would',
    fails: [
      ['encryption.wrong-version', 'crypto.header.version'],
      ['encryption.unknown-type-5', 'crypto.header.unknown-type'],
    ],
  },
  'payload-version-ignored': {
    what: "clears the payload version of the tester's packets, as a decoder that ignores it would",
    fails: [['payload.version', 'payload.header.version']],
  },
  'sn-repeated': {
    what: "seals every second Data packet of the endpoint's with the sequence number of the one before",
    // The second: a case about delivery, failed by the monitor rule it names.
    fails: [
      ['encryption.sn-counter', 'crypto.sn.counter'],
      ['streams.in-order', 'crypto.sn.counter', 'sequence-number-once'],
    ],
  },
  'conn-id-changed': {
    what: "puts another connection id (one more) on every fifth Data packet of the endpoint's",
    fails: [['handshake.conn-id-stable', 'crypto.conn-id.stable']],
  },
  'ping-resent': {
    what: 'resends every PING the endpoint sends one RTO later, as a sender that retransmits PINGs like data would',
    fails: [['retransmission.ping-not-resent', 'retransmission.ping-not-resent']],
  },
  'empty-acks-dropped': {
    what:
      'removes every ACK of length 0 the endpoint sends, as an endpoint that acknowledges no empty segment ' +
      '(PING, empty CLOSE) would',
    fails: [
      ['streams.ping', 'payload.ping'],
      ['close.responder', 'close.acknowledged'],
    ],
  },
  'cumulative-acks': {
    what:
      'acknowledges from the start of the stream to the end of each segment, as a receiver of cumulative ACKs ' +
      '(TCP) would',
    fails: [['streams.burst-acknowledged', 'ack.segment']],
  },
  'ack-only-acknowledged': {
    what: "answers every ACK-only packet of the tester's with an ACK-only packet of the endpoint's",
    fails: [['streams.ack-only', 'ack.only-not-acknowledged']],
  },
  'acks-before-buffer': {
    what:
      "acknowledges every segment of the tester's as it arrives, before the receive buffer decides whether it " +
      'fits, as a receiver that acknowledges in its packet handler would',
    fails: [['streams.buffer-full', 'stream.buffer-full']],
  },
  'high-stream-ids-dropped': {
    what:
      "drops the tester's segments on stream ids of 2^31 and above, as an endpoint that reads stream ids as " +
      'signed would',
    fails: [['streams.any-id', 'stream.ids']],
  },
  'late-data-after-close-dropped': {
    what:
      "drops the tester's data on a stream once its CLOSE came, as a receiver that stops at the CLOSE, not at " +
      'its offset, would',
    fails: [['close.deliver-to-offset', 'close.deliver-to-offset']],
  },
  'idle-kept-alive': {
    what:
      'sends the endpoint a PING of each connection every 5 s, as an idle timer that the endpoint restarts ' +
      'itself would keep it open',
    fails: [['connection.idle-timeout', 'connection.idle-timeout']],
  },
  'reply-wrong-secret': {
    what:
      'reseals the handshake replies (InitRcv, InitCryptoRcv) with another secret than the one the handshake ' +
      'gives, the Data packets after them with the right one',
    fails: [
      ['handshake.in-band', 'crypto.init-rcv.secret'],
      ['handshake.0rtt', 'crypto.init-crypto-rcv.secret'],
    ],
  },
  'never-gives-up': {
    what: 'sends a seventh transmission of a segment one RTO after the sixth',
    fails: [['retransmission.give-up', 'retransmission.give-up']],
  },
  'close-resent-often': {
    what:
      'resends every CLOSE of the endpoint ten times 50 ms apart while it is unacknowledged, as a sender that ' +
      'sends it on every flush would',
    fails: [['close.sent-once', 'close.sent-once']],
  },
  'echo-reversed': {
    what:
      'reverses the data of the first segment of every stream the endpoint sends, as a receiver that delivers a ' +
      "segment's bytes in the wrong order would",
    fails: [['streams.in-order', 'stream.ordered-delivery']],
  },
  'streams-swapped': {
    what:
      'sends what the endpoint writes on stream 1 on stream 2 and the other way round, as an endpoint that mixes ' +
      'up its streams would',
    fails: [['streams.several', 'stream.independent']],
  },
  'ack-only-kills': {
    what:
      "stops the endpoint at the first ACK-only packet of the tester's (nothing passes either way after it), as " +
      'an endpoint that crashes on an empty stream section would',
    fails: [['streams.ack-only', 'payload.ack-only']],
  },
  'dies-on-garbage': {
    what:
      'stops the endpoint at the first datagram that does not open (nothing passes either way after it), as an ' +
      'endpoint that crashes on garbage would',
    fails: [['robustness.garbage', 'crypto.receive.no-crash']],
  },
  'acks-ignored-after-50': {
    what:
      "drops the tester's ACK-only packets of a connection from the 51st on, as a sender whose count of bytes in " +
      'flight drifts upwards stops hearing of them',
    fails: [['connection.in-flight', 'flow.in-flight']],
  },
  'mtu-one-over': {
    what:
      'the endpoint sizes its packets for an MTU one byte larger than the target declares (1401), as one that ' +
      'reads its MTU from elsewhere would',
    // A case about delivery, failed by the monitor rule it names.
    fails: [['streams.in-order', 'payload.max-data', 'datagram-within-mtu']],
  },
  'window-above-capacity': {
    what: 'rewrites the window of every ACK the endpoint sends to four times the receive buffer capacity',
    // A case about delivery, failed by the monitor rule it names.
    fails: [['streams.in-order', 'flow.window-advertised', 'window-at-most-capacity']],
  },
  'data-after-close': {
    what:
      'sends ten bytes past the end of a stream right after each CLOSE the endpoint sends, as a sender that ' +
      'keeps writing after it closed would',
    // Cases about resending a CLOSE and about a closed stream, failed by the monitor rule it names.
    fails: [
      ['close.sent-once', 'close.answer', 'nothing-past-own-close'],
      ['close.grace-period', 'close.answer', 'nothing-past-own-close'],
    ],
  },
  'offsets-always-wide': {
    what:
      "re-encodes the endpoint's Data payloads with 48-bit offsets (the wide bit set) where 24 bits would do, as " +
      'an encoder that always writes the wide form would',
    // A case about delivery, failed by the monitor rule it names; the second from the
    // relay's record of an impaired echo, which the tester's own timeline does not hold.
    fails: [
      ['streams.in-order', 'payload.offset.width', 'offset-width-exact'],
      ['impair.transfer-reorder', 'payload.offset.width', 'offset-width-exact'],
    ],
  },
  'reply-type-per-stream': {
    what:
      "seals the endpoint's first Data packet on each stream (of those the reply's longer header leaves within " +
      "the MTU) as the connection's reply type (InitRcv or InitCryptoRcv) again, as a responder that picks the " +
      'message type per stream, not per connection, would',
    // A case about several streams, failed by the monitor rule it names.
    fails: [['streams.several', 'handshake.message-order', 'handshake-order']],
  },
  'one-sn-counter': {
    what:
      "reseals every packet of the endpoint's with sequence numbers from one counter for all its connections, as " +
      'a responder that keeps one send counter, not one per connection, would',
    // Several connections, failed by the monitor rule it names.
    fails: [['connection.several', 'crypto.sn.counter', 'sequence-numbers-from-zero']],
  },
  'ephemeral-key-reused': {
    what:
      'puts one ephemeral key in every InitRcv of the endpoint (and translates between the secret it gives and ' +
      "the endpoint's own), as a responder that draws its key pair once, not per connection, would",
    // Several connections, failed by the monitor rule it names.
    fails: [['connection.several', 'crypto.keys.ephemeral-per-connection', 'ephemeral-key-per-connection']],
  },
  'reply-to-responder-accepted': {
    what:
      'an InitRcv or InitCryptoRcv reaching the endpoint under a connection it knows becomes a Data packet of ' +
      'that connection with data on the probe stream, as a responder that opens such a reply and delivers its ' +
      'data would',
    fails: [['handshake.wrong-role', 'handshake.role-messages']],
  },
  'early-resend': {
    what:
      "sends every data segment of the endpoint's six times in a row, as a sender whose retransmission timer " +
      'fires at once would',
    // A case about delivery, failed by the monitor rule it names.
    fails: [['streams.in-order', 'retransmission.backoff', 'resend-after-rto']],
  },
  'never-resends': {
    what: "drops every retransmission of the endpoint's data segments, as a sender that never resends would",
    fails: [
      ['impair.transfer-loss-5', 'retransmission.recovers'],
      ['connection.retransmit-past-window', 'flow.retransmit-past-window'],
    ],
  },
  'oversized-dropped': {
    what:
      'drops every datagram longer than the MTU on its way to the endpoint, as a receiver that rejects over-long ' +
      'datagrams instead of reading their first MTU bytes would',
    fails: [['robustness.oversized-init-snd', 'crypto.receive.mtu-cut']],
  },
  'no-filler-dropped': {
    what:
      'drops an InitCryptoSnd whose 0-RTT data fills it (filler length 0), as a receiver that takes a filler of ' +
      'at least one byte for granted would',
    fails: [['payload.largest-data-0rtt', 'payload.max-data']],
  },
  'dies-on-short-datagram': {
    what:
      'stops the endpoint at the first datagram shorter than MinPacketSize (nothing passes either way after it), ' +
      'as an endpoint that reads the header of a datagram before checking its size would',
    fails: [['robustness.short-datagrams', 'crypto.min-packet-size']],
  },
  'second-close-moves-end': {
    what:
      "holds each CLOSE of the tester's 100 ms and lets a second CLOSE of the stream at another end, coming in " +
      "that time, take its place, as a receiver that moves a stream's end to the latest CLOSE would",
    fails: [['close.second-close', 'close.second-close']],
  },
  'closed-stream-forgotten': {
    what:
      "drops the tester's segments on a stream once both sides closed it, as an endpoint that forgets a closed " +
      'stream at once (and so neither acknowledges nor delivers a late retransmission) would',
    fails: [['close.grace-period', 'stream.close-grace']],
  },
  'one-stream-table': {
    what:
      'sends what the endpoint writes on stream 5 of a connection on the first connection that used stream 5, as ' +
      'an endpoint with one table of streams for all its connections would',
    fails: [['connection.several', 'connection.independent']],
  },
  'ping-doubled': {
    what:
      'sends every PING of the endpoint twice, the second at once under a sequence number of its own, as a ' +
      'sender with two probe timers would',
    // A case about the window probe, failed by the monitor rule it names.
    fails: [['connection.window-probe', 'stream.one-empty-segment', 'one-ping-per-offset']],
  },
  'responder-waits-for-data': {
    what:
      "drops the endpoint's packets with data after its first reply until the tester sent a Data packet, as a " +
      "responder that waits for the initiator's first Data packet would",
    fails: [['handshake.responder-progress', 'handshake.responder-progress']],
  },
  'karn-rule': {
    what:
      'after an ACK of a segment sent more than once (and until an ACK of one sent once), resends each new ' +
      "segment of the endpoint's at the default RTO, as a sender that takes no RTT sample from a retransmitted " +
      'segment would',
    fails: [['retransmission.sample-after-resend', 'retransmission.rtt-sample']],
  },
  'one-stream-at-a-time': {
    what:
      "holds the endpoint's data on other streams back while one stream is sending, and lets the next stream go " +
      'when it has been quiet for 300 ms, as a sender that serves one stream until it is done would',
    fails: [['streams.round-robin', 'flow.round-robin']],
  },
  'keylog-upper-case': {
    what: 'writes the connection id of every key log line in upper-case hex',
    fails: [['connection.key-log', 'keylog.format']],
  },
} satisfies Record<string, PlantedDefect>;

/**
 * Defects of a client: the reference client behind the relay of defective-client.ts, run against the client-role cases.
 */
export const PLANTED_CLIENT_DEFECTS = {
  'init-snd-short': {
    what:
      'cuts the last byte off every InitSnd of the client, as a client that pads to one byte less than its MTU ' +
      'would',
    fails: [['client.init-snd', 'crypto.init-snd.padding']],
  },
  'init-snd-padding-not-zero': {
    what: "sets the last padding byte of the client's InitSnd to 1",
    fails: [['client.init-snd', 'crypto.init-snd.layout']],
  },
  'init-snd-resent-early': {
    what:
      'sends every InitSnd of the client again a quarter of an RTO later, as a client whose first RTO is 50 ms ' +
      'would',
    fails: [['client.handshake-give-up', 'retransmission.rto-default']],
  },
  'client-close-dropped': {
    what: "drops the client's CLOSE, as a client that never closes its stream would",
    fails: [['client.close', 'payload.close']],
  },
  'client-waits-after-reply': {
    what:
      "drops the client's Data packets with a stream section (a PING, a resend) until the tester sent it data, " +
      'as a client that waits for the responder once an ACK-only reply completed its handshake would',
    fails: [['client.handshake-confirm', 'handshake.initiator-confirms']],
  },
  'later-reply-ignored': {
    what:
      'drops every reply (InitRcv, InitCryptoRcv) after the first on its way to the client, as a client that ' +
      'ignores a reply once its handshake is done would',
    fails: [['client.handshake-confirm', 'handshake.reply-after-handshake']],
  },
  'init-snd-beside-0rtt': {
    what:
      'sends an InitSnd with the same two keys beside every InitCryptoSnd of the client, as a client that starts ' +
      'a 1-RTT handshake alongside its 0-RTT one would',
    fails: [['client.0rtt-unanswered', 'handshake.zero-rtt-first-flight']],
  },
} satisfies Record<string, PlantedDefect>;

/**
 * Broken endpoints for the soundness matrix (test/soundness.test.ts): not one rule got wrong
 * but the whole endpoint, so none may pass a case unless the test lists why that is conforming.
 */
export const BROKEN_ENDPOINTS = {
  'silent-after-handshake': "passes the endpoint's replies (InitRcv, InitCryptoRcv) and nothing after them",
  'all-wrong-direction-bit':
    "reseals every encrypted packet the endpoint sends, replies included, with the initiator's direction bit: " +
    'nothing of it authenticates',
  'wrong-key': 'reseals every encrypted packet with a secret of its own',
  reflector: 'sends every datagram back to the tester; the endpoint sees none',
  'other-layout':
    "re-encodes every payload the endpoint sends in another layout (modelled on the upstream main branch's: a " +
    'flags byte with no version field, the ACK, then the stream header): it authenticates and does not decode',
  oversized:
    "pads every datagram of the endpoint's to 65,488 bytes (what the upstream main branch sends on loopback, " +
    'sizing packets by the interface)',
} as const;

export type PlantedDefectName = keyof typeof PLANTED_DEFECTS;
export type ClientDefect = keyof typeof PLANTED_CLIENT_DEFECTS;
export const CLIENT_DEFECTS = Object.keys(PLANTED_CLIENT_DEFECTS) as ClientDefect[];
export const isClientDefect = (name: string): name is ClientDefect => (CLIENT_DEFECTS as string[]).includes(name);
export type BrokenEndpoint = keyof typeof BROKEN_ENDPOINTS;
/** What the relay of defective-endpoint.ts can do: 'none' forwards unchanged (the control). */
export type Defect = 'none' | PlantedDefectName | BrokenEndpoint;
export const BROKEN = Object.keys(BROKEN_ENDPOINTS) as BrokenEndpoint[];
export const DEFECTS: Defect[] = ['none', ...(Object.keys(PLANTED_DEFECTS) as PlantedDefectName[]), ...BROKEN];

/** Every [defect, case, clause, monitor rule or null] the defect tests check, the servers' and the clients'. */
export const plantedFailures = (): [PlantedDefectName | ClientDefect, string, string, string | null][] =>
  (
    Object.entries({ ...PLANTED_DEFECTS, ...PLANTED_CLIENT_DEFECTS }) as [
      PlantedDefectName | ClientDefect,
      PlantedDefect,
    ][]
  ).flatMap(([defect, d]) =>
    d.fails.map(([c, clause, rule]): [PlantedDefectName | ClientDefect, string, string, string | null] => [
      defect,
      c,
      clause,
      rule ?? null,
    ]),
  );
