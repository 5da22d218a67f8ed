-- QOTP dissector for Wireshark and tshark (Lua 5.2, Wireshark 4.0 and later).
--   tshark -X lua_script:qotp.lua -o udp.try_heuristic_first:TRUE -o qotp.keylog_file:CASE.keylog -r CASE.pcap
-- Written by hand but for the SPEC table, which `npm run spec:generate` (wireshark/scripts/generate.ts)
-- rewrites from spec/qotp.spec.json between the two marker lines; a test fails when it is stale.

-- SPEC: generated from spec/qotp.spec.json, do not edit by hand
local SPEC = {
  protocolVersion = "v0.2.19",
  cryptoVersion = 0,
  protoVersion = 0,
  header = {version = {shift = 0, width = 5,
    description = "CryptoVersion, 0. Datagrams with another value are dropped.",}, type = {shift = 5, width = 3,
    description = "Message type code, 0 to 4; 5 to 7 are unknown and dropped.",},},
  messages = {InitSnd = {name = "InitSnd", code = 0, encrypted = false, firstPacket = true, directionBit = nil,
    aadSize = nil, secret = "shared", filler = false, minSize = 65, fields = {{name = "header", offset = 0, size = 1,
    }, {name = "pubKeyEpSnd", offset = 1, size = 32,}, {name = "pubKeyIdSnd", offset = 33, size = 32,},},},
    InitRcv = {name = "InitRcv", code = 1, encrypted = true, firstPacket = false, directionBit = 0, aadSize = 73,
    secret = "shared", filler = false, minSize = 103, fields = {{name = "header", offset = 0, size = 1,}, {
    name = "connId", offset = 1, size = 8,}, {name = "pubKeyEpRcv", offset = 9, size = 32,}, {name = "pubKeyIdRcv",
    offset = 41, size = 32,}, {name = "sn", offset = 73, size = 6,},},}, InitCryptoSnd = {name = "InitCryptoSnd",
    code = 2, encrypted = true, firstPacket = true, directionBit = 1, aadSize = 65, secret = "identity",
    filler = true, minSize = 95, fields = {{name = "header", offset = 0, size = 1,}, {name = "pubKeyEpSnd",
    offset = 1, size = 32,}, {name = "pubKeyIdSnd", offset = 33, size = 32,}, {name = "sn", offset = 65, size = 6,},},
    }, InitCryptoRcv = {name = "InitCryptoRcv", code = 3, encrypted = true, firstPacket = false, directionBit = 0,
    aadSize = 41, secret = "shared", filler = false, minSize = 71, fields = {{name = "header", offset = 0, size = 1,},
    {name = "connId", offset = 1, size = 8,}, {name = "pubKeyEpRcv", offset = 9, size = 32,}, {name = "sn",
    offset = 41, size = 6,},},}, Data = {name = "Data", code = 4, encrypted = true, firstPacket = false,
    directionBit = "by-role", aadSize = 9, secret = "shared", filler = false, minSize = 39, fields = {{
    name = "header", offset = 0, size = 1,}, {name = "connId", offset = 1, size = 8,}, {name = "sn", offset = 9,
    size = 6,},},},},
  messagesByCodeNames = {[0] = "InitSnd", [1] = "InitRcv", [2] = "InitCryptoSnd", [3] = "InitCryptoRcv", [4] = "Data",
    },
  keyFields = {pubKeyEpSnd = {label = "pubKeyEpSnd",
    description = "Initiator's ephemeral public key; its first 8 bytes are the " .. "connection id.",},
    pubKeyIdSnd = {label = "pubKeyIdSnd", description = "Initiator's identity public key.",}, pubKeyEpRcv = {
    label = "pubKeyEpRcv", description = "Responder's ephemeral public key.",}, pubKeyIdRcv = {label = "pubKeyIdRcv",
    description = "Responder's identity public key.",},},
  nonce = {directionBit = {byte = 0, mask = 128, initiator = 1, responder = 0,},},
  snSize = 6,
  macSize = 16,
  minPayload = 8,
  fillerLengthSize = 2,
  snMaskNonceSize = 24,
  snMaskCounter = 1,
  payload = {header = {version = {shift = 0, width = 5, description = "ProtoVersion, 0; any other value is rejected.",
    }, type = {shift = 5, width = 2, description = "Payload type code: bit 6 means CLOSE, bit 5 means 'no ACK " ..
    "section'.",}, wideOffsets = {shift = 7, width = 1,
    description = "1 when every offset in this payload is 48 bits wide, 0 when " .. "they are 24 bits.",},}, types = {
    {code = 0, name = "DATA with ACK", isClose = false, hasAck = true,}, {code = 1, name = "DATA", isClose = false,
    hasAck = false,}, {code = 2, name = "CLOSE with ACK", isClose = true, hasAck = true,}, {code = 3, name = "CLOSE",
    isClose = true, hasAck = false,},}, typesByCodeIndex = {[0] = 1, [1] = 2, [2] = 3, [3] = 4,}, narrowBytes = 3,
    wideBytes = 6, ackWithStreamMin = 18,},
  receiveWindow = {codeOne = 128, substeps = 8, smallestStepExponent = 8,},
  next = {name = "main 0530ac8", header = {hasAck = {shift = 0, width = 1,
    description = "1 when an ACK section follows (stream id, offset, length, " .. "window code, as in v0.2.19).",},
    wideOffsets = {shift = 1, width = 1, description = "1 when every offset is 48 bits wide, 0 when 24.",},
    needsRetransmission = {shift = 2, width = 1, description = "Set by the sender, never read by the receiver.",},
    type = {shift = 3, width = 3, description = "Packet type, 0 to 7 (payload.types).",}, reserved = {shift = 6,
    width = 2, description = "Zero.",},}, types = {{code = 0, name = "data", isClose = false, mtuUpdate = false,
    keyUpdate = false, keyUpdateAck = false,}, {code = 1, name = "MTU update", isClose = false, mtuUpdate = true,
    keyUpdate = false, keyUpdateAck = false,}, {code = 2, name = "close", isClose = true, mtuUpdate = false,
    keyUpdate = false, keyUpdateAck = false,}, {code = 3, name = "key update", isClose = false, mtuUpdate = false,
    keyUpdate = true, keyUpdateAck = false,}, {code = 4, name = "key-update ACK", isClose = false, mtuUpdate = false,
    keyUpdate = false, keyUpdateAck = true,}, {code = 5, name = "key update and its ACK", isClose = false,
    mtuUpdate = false, keyUpdate = true, keyUpdateAck = true,}, {code = 6, name = "close and key update",
    isClose = true, mtuUpdate = false, keyUpdate = true, keyUpdateAck = false,}, {code = 7,
    name = "close and key-update ACK", isClose = true, mtuUpdate = false, keyUpdate = false, keyUpdateAck = true,},},
    mtuValueSize = 2,},
  keylog = {QOTP_SHARED_SECRET = "shared", QOTP_SHARED_SECRET_ID = "identity",},
}
-- SPEC: end of the generated part

-- Index tables the dissector looks messages and payload types up in.
SPEC.messagesByCode = {}
for code, name in pairs(SPEC.messagesByCodeNames) do SPEC.messagesByCode[code] = SPEC.messages[name] end
SPEC.payload.typesByCode = {}
for code, i in pairs(SPEC.payload.typesByCodeIndex) do SPEC.payload.typesByCode[code] = SPEC.payload.types[i] end

-- crypto: a chunk of its own, which test/crypto-check.lua loads alone.
local crypto = (function()
-- The ciphers QOTP needs to open a packet, in plain Lua 5.2 (Wireshark 4.0 has no ChaCha20 in
-- its Lua API): ChaCha20 (RFC 8439), HChaCha20 and XChaCha20 for the sequence-number mask,
-- Poly1305 and the ChaCha20-Poly1305 AEAD. Bytes are Lua arrays of numbers 0..255, 1-based;
-- 32-bit words are numbers 0..2^32-1 handled with bit32.
local band, bxor, lrotate = bit32.band, bit32.bxor, bit32.lrotate

local crypto = {}

local function word(b, i) -- little-endian uint32 at b[i..i+3]
  return b[i] + b[i + 1] * 0x100 + b[i + 2] * 0x10000 + b[i + 3] * 0x1000000
end

local function put_word(out, n, v) -- little-endian uint32 v as word n (1-based) of out
  out[4 * n - 3], out[4 * n - 2], out[4 * n - 1], out[4 * n] =
    v % 256, math.floor(v / 0x100) % 256, math.floor(v / 0x10000) % 256, math.floor(v / 0x1000000)
end

local function quarter(x, a, b, c, d)
  x[a] = band(x[a] + x[b], 0xffffffff); x[d] = lrotate(bxor(x[d], x[a]), 16)
  x[c] = band(x[c] + x[d], 0xffffffff); x[b] = lrotate(bxor(x[b], x[c]), 12)
  x[a] = band(x[a] + x[b], 0xffffffff); x[d] = lrotate(bxor(x[d], x[a]), 8)
  x[c] = band(x[c] + x[d], 0xffffffff); x[b] = lrotate(bxor(x[b], x[c]), 7)
end

local function rounds(x)
  for _ = 1, 10 do
    quarter(x, 1, 5, 9, 13); quarter(x, 2, 6, 10, 14); quarter(x, 3, 7, 11, 15); quarter(x, 4, 8, 12, 16)
    quarter(x, 1, 6, 11, 16); quarter(x, 2, 7, 12, 13); quarter(x, 3, 8, 9, 14); quarter(x, 4, 5, 10, 15)
  end
end

-- The initial state: "expand 32-byte k", the key, then four words of counter and nonce.
local function state(key, w13, w14, w15, w16)
  local s = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574 }
  for i = 0, 7 do s[5 + i] = word(key, 1 + 4 * i) end
  s[13], s[14], s[15], s[16] = w13, w14, w15, w16
  return s
end

-- One 64-byte ChaCha20 block of a 32-byte key, a block counter and a 12-byte nonce.
local function block(key, counter, nonce)
  local s = state(key, counter, word(nonce, 1), word(nonce, 5), word(nonce, 9))
  local x = {}
  for i = 1, 16 do x[i] = s[i] end
  rounds(x)
  local out = {}
  for i = 1, 16 do put_word(out, i, band(x[i] + s[i], 0xffffffff)) end
  return out
end

-- data XOR the ChaCha20 keystream from block `counter` on.
function crypto.chacha20(key, nonce, counter, data)
  local out = {}
  for at = 0, #data - 1, 64 do
    local ks = block(key, counter + at / 64, nonce)
    for i = 1, math.min(64, #data - at) do out[at + i] = bxor(data[at + i], ks[i]) end
  end
  return out
end

-- HChaCha20: the rounds over key and a 16-byte input, words 0-3 and 12-15 as the subkey.
local function hchacha20(key, input)
  local x = state(key, word(input, 1), word(input, 5), word(input, 9), word(input, 13))
  rounds(x)
  local out = {}
  for n, i in ipairs({ 1, 2, 3, 4, 13, 14, 15, 16 }) do put_word(out, n, x[i]) end
  return out
end

-- XChaCha20 with a 24-byte nonce: ChaCha20 under HChaCha20(key, nonce[1..16]) with the nonce
-- 0,0,0,0 followed by nonce[17..24].
function crypto.xchacha20(key, nonce24, counter, data)
  local sub = hchacha20(key, { table.unpack(nonce24, 1, 16) })
  local nonce = { 0, 0, 0, 0, table.unpack(nonce24, 17, 24) }
  return crypto.chacha20(sub, nonce, counter, data)
end

-- Poly1305 over 130-bit numbers held in ten 13-bit limbs, so that every product and sum stays
-- well inside a double's 53 exact bits; 2^130 = 5 (mod 2^130 - 5) folds limb k+10 into limb k.
local LIMB = 8192

local function limbs(b, top) -- 16 bytes b[1..16], plus 2^128 * top, as ten 13-bit limbs
  local x = {}
  for i = 1, 16 do x[i] = b[i] or 0 end
  x[17], x[18], x[19] = top, 0, 0
  local l = {}
  for j = 0, 9 do
    local bit = 13 * j
    local i = 1 + math.floor(bit / 8)
    l[j + 1] = math.floor((x[i] + x[i + 1] * 256 + x[i + 2] * 65536) / 2 ^ (bit % 8)) % LIMB
  end
  return l
end

local function carry(h)
  for _ = 1, 2 do
    for i = 1, 10 do
      local c = math.floor(h[i] / LIMB)
      h[i] = h[i] % LIMB
      if i < 10 then h[i + 1] = h[i + 1] + c else h[1] = h[1] + 5 * c end
    end
  end
end

function crypto.poly1305(key, msg)
  local r = {}
  for i = 1, 16 do r[i] = key[i] end
  for _, i in ipairs({ 4, 8, 12, 16 }) do r[i] = band(r[i], 15) end -- clamp
  for _, i in ipairs({ 5, 9, 13 }) do r[i] = band(r[i], 252) end
  local rl = limbs(r, 0)
  local h = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }
  local c, m = {}, {}
  for at = 1, #msg, 16 do
    local n = math.min(16, #msg - at + 1)
    for i = 1, 16 do m[i] = i <= n and msg[at + i - 1] or 0 end
    if n < 16 then m[n + 1] = 1 end -- a short last block gets its 1 byte inside the 16
    local ml = limbs(m, n == 16 and 1 or 0)
    for i = 1, 10 do h[i] = h[i] + ml[i] end
    for k = 1, 19 do c[k] = 0 end
    for i = 1, 10 do
      local hi = h[i]
      for j = 1, 10 do c[i + j - 1] = c[i + j - 1] + hi * rl[j] end
    end
    for k = 1, 9 do h[k] = c[k] + 5 * c[k + 10] end
    h[10] = c[10]
    carry(h)
  end
  -- Fully reduce: h - p when h >= p, i.e. when h + 5 reaches 2^130.
  local g = { table.unpack(h) }
  g[1] = g[1] + 5
  for i = 1, 9 do g[i + 1] = g[i + 1] + math.floor(g[i] / LIMB); g[i] = g[i] % LIMB end
  if g[10] >= LIMB then g[10] = g[10] - LIMB; h = g end
  -- tag = (h + s) mod 2^128, little-endian.
  local out, acc, bits, li = {}, 0, 0, 1
  local s = 0
  for i = 1, 16 do
    while bits < 8 do acc = acc + (h[li] or 0) * 2 ^ bits; bits = bits + 13; li = li + 1 end
    local v = acc % 256 + key[16 + i] + s
    out[i] = v % 256
    s = math.floor(v / 256)
    acc = math.floor(acc / 256)
    bits = bits - 8
  end
  return out
end

local function le64(n)
  local out = {}
  for i = 1, 8 do out[i] = n % 256; n = math.floor(n / 256) end
  return out
end

-- Opens ChaCha20-Poly1305 (RFC 8439): the plaintext, or nil when the tag does not match.
function crypto.open(key, nonce, aad, sealed)
  if #sealed < 16 then return nil end
  local ct = {}
  for i = 1, #sealed - 16 do ct[i] = sealed[i] end
  local polykey = block(key, 0, nonce)
  local mac = {}
  local function append(b) for i = 1, #b do mac[#mac + 1] = b[i] end; while #mac % 16 ~= 0 do mac[#mac + 1] = 0 end end
  append(aad)
  append(ct)
  for _, v in ipairs(le64(#aad)) do mac[#mac + 1] = v end
  for _, v in ipairs(le64(#ct)) do mac[#mac + 1] = v end
  local tag = crypto.poly1305(polykey, mac)
  local diff = 0
  for i = 1, 16 do diff = bit32.bor(diff, bxor(tag[i], sealed[#sealed - 16 + i])) end
  if diff ~= 0 then return nil end
  return crypto.chacha20(key, nonce, 1, ct)
end

return crypto
end)()
-- crypto: end

-- The QOTP dissector. Layouts, bit fields, types and constants come from SPEC (generated from
-- spec/qotp.spec.json); what is written here is how to read them: the message fields in the
-- clear, then, with a key log, the masked sequence number and the sealed payload.
local qotp = Proto("qotp", "Quite OK Transport Protocol (QOTP " .. SPEC.protocolVersion .. ")")

local function bits_of(field) return (2 ^ field.width - 1) * 2 ^ field.shift end
local TYPE_NAMES, PAYLOAD_TYPE_NAMES = {}, {}
for _, m in pairs(SPEC.messages) do TYPE_NAMES[m.code] = m.name end
for _, t in ipairs(SPEC.payload.types) do PAYLOAD_TYPE_NAMES[t.code] = t.name end

local f = {
  version = ProtoField.uint8("qotp.version", "Crypto version", base.DEC, nil, bits_of(SPEC.header.version),
      SPEC.header.version.description),
  type = ProtoField.uint8("qotp.type", "Message type", base.DEC, TYPE_NAMES, bits_of(SPEC.header.type),
      SPEC.header.type.description),
  connection = ProtoField.uint32("qotp.connection", "Connection index", base.DEC, nil, nil,
      "the capture's connections numbered from 0 as they first appear; qotp.connection == N shows one"),
  conn_id = ProtoField.uint64("qotp.conn_id", "Connection id", base.HEX, nil, nil,
      "uint64le; of a first packet, the first 8 bytes of the initiator's ephemeral key"),
  sn_masked = ProtoField.bytes("qotp.sn_masked", "Masked sequence number", base.NONE,
      "XORed with XChaCha20 keystream (clause crypto.sn.masking)"),
  sn = ProtoField.uint64("qotp.sn", "Sequence number", base.DEC, nil, nil,
      "unmasked with the connection's secret (clause crypto.sn.counter)"),
  epoch = ProtoField.uint32("qotp.epoch", "Epoch", base.DEC, nil, nil,
      "the epoch whose nonce authenticated (clause crypto.epoch.decrypt-window)"),
  sealed_by = ProtoField.string("qotp.sealed_by", "Sealed by",
      "initiator or responder: the nonce's direction bit (clause crypto.nonce.direction-bit)"),
  authentic = ProtoField.bool("qotp.authentic", "Authentic", base.NONE, nil, nil,
      "the Poly1305 tag matched (clause crypto.aead.tamper)"),
  ciphertext = ProtoField.bytes("qotp.ciphertext", "Ciphertext"),
  tag = ProtoField.bytes("qotp.tag", "Tag", base.NONE, "Poly1305, 16 bytes"),
  padding = ProtoField.bytes("qotp.padding", "Padding"),
  filler_length = ProtoField.uint16("qotp.filler_length", "Filler length", base.DEC, nil, nil,
      "clause crypto.init-crypto-snd.filler"),
  p_version = ProtoField.uint8("qotp.payload.version", "Payload version", base.DEC, nil,
      bits_of(SPEC.payload.header.version), SPEC.payload.header.version.description),
  p_type = ProtoField.uint8("qotp.payload.type", "Payload type", base.DEC, PAYLOAD_TYPE_NAMES,
      bits_of(SPEC.payload.header.type), SPEC.payload.header.type.description),
  p_wide = ProtoField.uint8("qotp.payload.wide", "48-bit offsets", base.DEC, nil,
      bits_of(SPEC.payload.header.wideOffsets), SPEC.payload.header.wideOffsets.description),
  ack_stream = ProtoField.uint32("qotp.ack.stream", "ACK stream id", base.DEC),
  ack_offset = ProtoField.uint64("qotp.ack.offset", "ACK offset", base.DEC),
  ack_length = ProtoField.uint16("qotp.ack.length", "ACK length", base.DEC),
  ack_window_code = ProtoField.uint8("qotp.ack.window_code", "ACK window code", base.DEC),
  ack_window = ProtoField.uint64("qotp.ack.window", "ACK window (bytes)", base.DEC, nil, nil,
      "the window code decoded (clause flow.window-advertised)"),
  stream_id = ProtoField.uint32("qotp.stream.id", "Stream id", base.DEC),
  stream_offset = ProtoField.uint64("qotp.stream.offset", "Stream offset", base.DEC),
  data_length = ProtoField.uint32("qotp.data.length", "Data length", base.DEC),
  data = ProtoField.bytes("qotp.data", "Data"),
  ping = ProtoField.bool("qotp.ping", "PING", base.NONE, nil, nil,
      "a stream section without data (clause payload.ping)"),
  close = ProtoField.bool("qotp.close", "CLOSE", base.NONE, nil, nil, "clause payload.close"),
  next_type = ProtoField.uint8("qotp.next.type", "Next revision's packet type", base.DEC, nil, nil,
      "a payload by the layout of the next revision (SPEC.md \"Next revision\")"),
}
for name, spec in pairs(SPEC.keyFields) do
  f[name] = ProtoField.bytes("qotp." .. name, spec.label, base.NONE, spec.description)
end
qotp.fields = f

local e_auth = ProtoExpert.new("qotp.not_authentic", "Does not authenticate with the key log's secret",
    expert.group.DECRYPTION, expert.severity.WARN)
local e_nokey = ProtoExpert.new("qotp.no_key", "No key log secret for this connection", expert.group.DECRYPTION,
    expert.severity.NOTE)
local e_payload = ProtoExpert.new("qotp.bad_payload", "The payload does not decode", expert.group.MALFORMED,
    expert.severity.ERROR)
local e_next = ProtoExpert.new("qotp.next_revision", "Payload of the next revision's layout", expert.group.PROTOCOL,
    expert.severity.NOTE)
qotp.experts = { e_auth, e_nokey, e_payload, e_next }

qotp.prefs.keylog_file = Pref.string("Key log file", "",
    "A QOTP key log: lines 'QOTP_SHARED_SECRET <connId> <secret>' and 'QOTP_SHARED_SECRET_ID <connId> <secret>' " ..
    "(what the conformance suite writes beside each pcap, and the Go original with a key log writer)")

-- The key log: connection id (lower-case hex, no leading zeros) -> { shared = bytes, identity = bytes }.
local secrets, loaded_from = {}, nil
local function hex_bytes(s) local t = {} for h in s:gmatch("%x%x") do t[#t + 1] = tonumber(h, 16) end return t end
local function load_keylog()
  local path = qotp.prefs.keylog_file
  if path == loaded_from then return end
  secrets, loaded_from = {}, path
  if path == "" then return end
  local file = io.open(path, "r")
  if file == nil then return end
  for line in file:lines() do
    local label, conn, secret = line:match("^(%S+) (%x+) (%x+)$")
    local kind = SPEC.keylog[label]
    if kind ~= nil then
      secrets[conn] = secrets[conn] or {}
      secrets[conn][kind] = hex_bytes(secret)
    end
  end
  file:close()
end
function qotp.prefs_changed() loaded_from = nil end

-- What the capture has shown of each connection (by connection id): who sealed its packets (the
-- address that sent its first packet is the initiator), and its index in the order connections
-- first appear, which filters one conversation as tcp.stream does (Wireshark 4.0's Lua has no
-- conversation table to register with).
local initiators, indices, connection_count = {}, {}, 0
local function connection_index(conn)
  if indices[conn] == nil then indices[conn], connection_count = connection_count, connection_count + 1 end
  return indices[conn]
end
function qotp.init() loaded_from, initiators, indices, connection_count = nil, {}, {}, 0 end

local function bytes_of(tvb, offset, length)
  local t = {}
  for i = 0, length - 1 do t[i + 1] = tvb(offset + i, 1):uint() end
  return t
end

local function uint_le(b, at, n) -- b[at..at+n-1], little-endian, n <= 6
  local v = 0
  for i = n - 1, 0, -1 do v = v * 256 + b[at + i] end
  return v
end

local function conn_key(tvb, at) -- the key log's spelling of the uint64le at `at`
  return tvb(at, 8):le_uint64():tohex():lower():gsub("^0+", ""):gsub("^$", "0")
end

local function nonce_of(epoch, sn, by_initiator)
  local n = {}
  local e, s = epoch, sn
  for i = 1, 6 do n[i] = e % 256; e = math.floor(e / 256) end
  for i = 7, 12 do n[i] = s % 256; s = math.floor(s / 256) end
  local dir = SPEC.nonce.directionBit
  local bit = by_initiator and dir.initiator or dir.responder
  n[dir.byte + 1] = bit == 1 and bit32.bor(n[dir.byte + 1], dir.mask) or bit32.band(n[dir.byte + 1], 255 - dir.mask)
  return n
end

local function endpoint_of(pinfo) return tostring(pinfo.src) .. ":" .. tostring(pinfo.src_port) end

local function window_bytes(code)
  local w = SPEC.receiveWindow
  if code == 0 then return 0 end
  if code == 1 then return w.codeOne end
  local a = code - 2
  local h = math.floor(a / w.substeps) + w.smallestStepExponent
  return 2 ^ h + (a % w.substeps) * 2 ^ (h - 3)
end

local function field_value(byte, field) return math.floor(byte / 2 ^ field.shift) % 2 ^ field.width end

local function offset_item(tree, field, ptvb, at, wide)
  local n = wide and SPEC.payload.wideBytes or SPEC.payload.narrowBytes
  local v = 0
  for i = n - 1, 0, -1 do v = v * 256 + ptvb(at + i, 1):uint() end
  tree:add(field, ptvb(at, n), UInt64.new(v % 2 ^ 32, math.floor(v / 2 ^ 32)))
  return at + n, v
end

-- The ACK section: stream id, offset, length, window code (the same in the next revision's layout).
local function ack_section(item, ptvb, at, wide)
  local n = wide and SPEC.payload.wideBytes or SPEC.payload.narrowBytes
  local ack = item:add(qotp, ptvb(at, 4 + n + 3), "ACK")
  ack:add_le(f.ack_stream, ptvb(at, 4)); local stream = ptvb(at, 4):le_uint(); at = at + 4
  local offset; at, offset = offset_item(ack, f.ack_offset, ptvb, at, wide)
  ack:add_le(f.ack_length, ptvb(at, 2)); local length = ptvb(at, 2):le_uint(); at = at + 2
  ack:add(f.ack_window_code, ptvb(at, 1))
  local window = window_bytes(ptvb(at, 1):uint())
  ack:add(f.ack_window, ptvb(at, 1), UInt64.new(window % 2 ^ 32, math.floor(window / 2 ^ 32)))
  return at + 1, string.format("ACK s%d o%d l%d", stream, offset, length)
end

-- The stream section from `at` to the payload's end: stream id, offset, then the data.
local function stream_section(item, ptvb, at, wide, is_close)
  local len = ptvb:len()
  local s = item:add(qotp, ptvb(at), "Stream")
  s:add_le(f.stream_id, ptvb(at, 4)); local stream = ptvb(at, 4):le_uint(); at = at + 4
  local offset; at, offset = offset_item(s, f.stream_offset, ptvb, at, wide)
  local n = len - at
  s:add(f.data_length, ptvb(at, 0), n)
  if n > 0 then s:add(f.data, ptvb(at, n)) end
  if n == 0 and not is_close then s:add(f.ping, ptvb(at, 0), true) end
  if is_close then s:add(f.close, ptvb(at, 0), true) end
  return string.format("%s s%d o%d %d B", is_close and "CLOSE" or (n == 0 and "PING" or "DATA"), stream, offset, n)
end

-- A payload of the next revision (SPEC.next, not released): a flags byte without version, then
-- ACK, MTU value, new keys and stream header as the flags and type say. Read only when v0.2.19's
-- layout cannot; false when it does not parse that way either.
local function dissect_next_payload(ptvb, item, pinfo)
  local nx = SPEC.next
  if nx == nil then return false end
  local len = ptvb:len()
  local flags = ptvb(0, 1):uint()
  if field_value(flags, nx.header.reserved) ~= 0 then return false end
  local ptype
  for _, t in ipairs(nx.types) do if t.code == field_value(flags, nx.header.type) then ptype = t end end
  if ptype == nil then return false end
  local has_ack = field_value(flags, nx.header.hasAck) == 1
  local wide = field_value(flags, nx.header.wideOffsets) == 1
  local off = wide and SPEC.payload.wideBytes or SPEC.payload.narrowBytes
  local fixed = 1 + (has_ack and 4 + off + 3 or 0) + (ptype.mtuUpdate and nx.mtuValueSize or 0)
    + (ptype.keyUpdate and 32 or 0) + (ptype.keyUpdateAck and 32 or 0)
  if len < fixed then return false end
  local stream_header = ptype.code ~= 0 or not has_ack or len > fixed
  if stream_header and len < fixed + 4 + off then return false end
  item:set_text("Payload, by the layout of the next revision (" .. nx.name .. ", not released): " .. ptype.name)
  item:add(f.next_type, ptvb(0, 1), field_value(flags, nx.header.type))
  item:add_proto_expert_info(e_next, "the payload of a revision this dissector reads but the suite does not check: "
      .. nx.name)
  local info = { "[" .. nx.name .. "] " .. ptype.name }
  if has_ack then local _, text = ack_section(item, ptvb, 1, wide); info[#info + 1] = text end
  if stream_header then info[#info + 1] = stream_section(item, ptvb, fixed, wide, ptype.isClose) end
  pinfo.cols.info:append(" " .. table.concat(info, " | "))
  return true
end

-- The payload: header byte, ACK section, stream section, data (as the reference decodes it).
local function dissect_payload(ptvb, tree, pinfo)
  local len = ptvb:len()
  local item = tree:add(qotp, ptvb(), "Payload")
  if len < SPEC.minPayload then item:add_proto_expert_info(e_payload, "a payload of " .. len .. " bytes, fewer than "
      .. SPEC.minPayload); return end
  local header = ptvb(0, 1):uint()
  item:add(f.p_version, ptvb(0, 1)); item:add(f.p_type, ptvb(0, 1)); item:add(f.p_wide, ptvb(0, 1))
  if field_value(header, SPEC.payload.header.version) ~= SPEC.protoVersion then
    if not dissect_next_payload(ptvb, item, pinfo) then item:add_proto_expert_info(e_payload,
        "unsupported payload version") end
    return
  end
  local ptype = SPEC.payload.typesByCode[field_value(header, SPEC.payload.header.type)]
  local wide = field_value(header, SPEC.payload.header.wideOffsets) == 1
  local has_stream = not (ptype.hasAck and len < SPEC.payload.ackWithStreamMin)
  local at, info = 1, {}
  if ptype.hasAck then at, info[1] = ack_section(item, ptvb, at, wide) end
  if has_stream then info[#info + 1] = stream_section(item, ptvb, at, wide, ptype.isClose) end
  pinfo.cols.info:append(" " .. table.concat(info, " | "))
end

local function dissect_sealed(tvb, pinfo, tree, m)
  local len = tvb:len()
  local hdr = m.aadSize
  tree:add(f.sn_masked, tvb(hdr, SPEC.snSize))
  tree:add(f.ciphertext, tvb(hdr + SPEC.snSize, len - hdr - SPEC.snSize - SPEC.macSize))
  tree:add(f.tag, tvb(len - SPEC.macSize, SPEC.macSize))
  load_keylog()
  -- A first packet names its connection by the first 8 bytes of the ephemeral key.
  local conn = conn_key(tvb, 1)
  local keys = secrets[conn]
  local secret = keys and keys[m.secret]
  if secret == nil then tree:add_proto_expert_info(e_nokey, "no " .. m.secret .. " secret for connection " .. conn
      .. " in the key log"); return end
  local sealed = bytes_of(tvb, hdr + SPEC.snSize, len - hdr - SPEC.snSize)
  local mask_nonce = {}
  for i = 1, SPEC.snMaskNonceSize do mask_nonce[i] = sealed[i] end
  local sn_bytes = crypto.xchacha20(secret, mask_nonce, SPEC.snMaskCounter, bytes_of(tvb, hdr, SPEC.snSize))
  local sn = uint_le(sn_bytes, 1, SPEC.snSize)
  local aad = bytes_of(tvb, 0, hdr)
  local candidates
  if m.directionBit == "by-role" then
    local initiator = initiators[conn]
    if initiator == nil then candidates = { true, false } else candidates = { endpoint_of(pinfo) == initiator } end
  else
    candidates = { m.directionBit == SPEC.nonce.directionBit.initiator }
  end
  for _, by_initiator in ipairs(candidates) do
    for _, epoch in ipairs({ 0, 1 }) do
      local plain = crypto.open(secret, nonce_of(epoch, sn, by_initiator), aad, sealed)
      if plain ~= nil then
        tree:add(f.sn, tvb(hdr, SPEC.snSize), UInt64.new(sn % 2 ^ 32, math.floor(sn / 2 ^ 32)))
        tree:add(f.epoch, tvb(hdr, SPEC.snSize), epoch)
        tree:add(f.sealed_by, tvb(hdr, SPEC.snSize), by_initiator and "initiator" or "responder")
        tree:add(f.authentic, tvb(len - SPEC.macSize, SPEC.macSize), true)
        pinfo.cols.info:append(" sn " .. sn)
        local raw = {}
        for i = 1, #plain do raw[i] = string.char(plain[i]) end
        -- true: the string is the bytes themselves, not hex.
        local ptvb = ByteArray.new(table.concat(raw), true):tvb("Decrypted QOTP payload")
        if m.filler then
          tree:add_le(f.filler_length, ptvb(0, SPEC.fillerLengthSize))
          local filler = ptvb(0, SPEC.fillerLengthSize):le_uint()
          if SPEC.fillerLengthSize + filler >= ptvb:len() then
            tree:add_proto_expert_info(e_payload, "the filler length " .. filler .. " leaves nothing of the "
                .. ptvb:len() .. "-byte plaintext for a payload (clause crypto.init-crypto-snd.filler)")
            return
          end
          ptvb = ptvb(SPEC.fillerLengthSize + filler):tvb()
        end
        dissect_payload(ptvb, tree, pinfo)
        return
      end
    end
  end
  tree:add(f.authentic, tvb(len - SPEC.macSize, SPEC.macSize), false)
  tree:add_proto_expert_info(e_auth, "no epoch or direction authenticates sequence number " .. sn
      .. " under connection " .. conn .. "'s " .. m.secret .. " secret")
  pinfo.cols.info:append(" [not authentic]")
end

function qotp.dissector(tvb, pinfo, tree)
  local first = tvb(0, 1):uint()
  local m = SPEC.messagesByCode[field_value(first, SPEC.header.type)]
  if m == nil then return 0 end
  pinfo.cols.protocol = "QOTP"
  pinfo.cols.info = m.name
  local t = tree:add(qotp, tvb(), "QOTP " .. m.name)
  t:add(f.version, tvb(0, 1)); t:add(f.type, tvb(0, 1))
  for _, field in ipairs(m.fields) do
    if field.name == "connId" then t:add_le(f.conn_id, tvb(field.offset, 8))
    elseif SPEC.keyFields[field.name] ~= nil then t:add(f[field.name], tvb(field.offset, field.size))
    elseif field.name == "padding" and tvb:len() > field.offset then t:add(f.padding, tvb(field.offset))
    end
  end
  if m.firstPacket then
    t:add_le(f.conn_id, tvb(1, 8)):append_text(" (from the ephemeral key)")
    initiators[conn_key(tvb, 1)] = initiators[conn_key(tvb, 1)] or endpoint_of(pinfo)
  end
  local conn = conn_key(tvb, 1)
  t:add(f.connection, tvb(1, 8), connection_index(conn)):set_generated()
  pinfo.cols.info:append(" conn " .. conn)
  if m.encrypted then dissect_sealed(tvb, pinfo, t, m) end
  return tvb:len()
end

-- Heuristic on every UDP datagram (the suite's captures use ephemeral ports): the header byte
-- names crypto version 0 and a known type, and the datagram is long enough for that type.
local function heuristic(tvb, pinfo, tree)
  if tvb:len() < 1 then return false end
  local first = tvb(0, 1):uint()
  if field_value(first, SPEC.header.version) ~= SPEC.cryptoVersion then return false end
  local m = SPEC.messagesByCode[field_value(first, SPEC.header.type)]
  if m == nil or tvb:len() < m.minSize then return false end
  qotp.dissector(tvb, pinfo, tree)
  return true
end
qotp:register_heuristic("udp", heuristic)
