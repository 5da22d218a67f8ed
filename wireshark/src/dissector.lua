-- The QOTP dissector. Layouts, bit fields, types and constants come from SPEC (generated from
-- spec/qotp.spec.json); what is written here is how to read them: the message fields in the
-- clear, then, with a key log, the masked sequence number and the sealed payload.
local qotp = Proto("qotp", "Quite OK Transport Protocol (QOTP " .. SPEC.protocolVersion .. ")")

local function bits_of(field) return (2 ^ field.width - 1) * 2 ^ field.shift end
local TYPE_NAMES, PAYLOAD_TYPE_NAMES = {}, {}
for _, m in pairs(SPEC.messages) do TYPE_NAMES[m.code] = m.name end
for _, t in ipairs(SPEC.payload.types) do PAYLOAD_TYPE_NAMES[t.code] = t.name end

local f = {
  version = ProtoField.uint8("qotp.version", "Crypto version", base.DEC, nil, bits_of(SPEC.header.version), SPEC.header.version.description),
  type = ProtoField.uint8("qotp.type", "Message type", base.DEC, TYPE_NAMES, bits_of(SPEC.header.type), SPEC.header.type.description),
  conn_id = ProtoField.uint64("qotp.conn_id", "Connection id", base.HEX, nil, nil, "uint64le; of a first packet, the first 8 bytes of the initiator's ephemeral key"),
  sn_masked = ProtoField.bytes("qotp.sn_masked", "Masked sequence number", base.NONE, "XORed with XChaCha20 keystream (clause crypto.sn.masking)"),
  sn = ProtoField.uint64("qotp.sn", "Sequence number", base.DEC, nil, nil, "unmasked with the connection's secret (clause crypto.sn.counter)"),
  epoch = ProtoField.uint32("qotp.epoch", "Epoch", base.DEC, nil, nil, "the epoch whose nonce authenticated (clause crypto.epoch.decrypt-window)"),
  sealed_by = ProtoField.string("qotp.sealed_by", "Sealed by", "initiator or responder: the nonce's direction bit (clause crypto.nonce.direction-bit)"),
  authentic = ProtoField.bool("qotp.authentic", "Authentic", base.NONE, nil, nil, "the Poly1305 tag matched (clause crypto.aead.tamper)"),
  ciphertext = ProtoField.bytes("qotp.ciphertext", "Ciphertext"),
  tag = ProtoField.bytes("qotp.tag", "Tag", base.NONE, "Poly1305, 16 bytes"),
  padding = ProtoField.bytes("qotp.padding", "Padding"),
  filler_length = ProtoField.uint16("qotp.filler_length", "Filler length", base.DEC, nil, nil, "clause crypto.init-crypto-snd.filler"),
  p_version = ProtoField.uint8("qotp.payload.version", "Payload version", base.DEC, nil, bits_of(SPEC.payload.header.version), SPEC.payload.header.version.description),
  p_type = ProtoField.uint8("qotp.payload.type", "Payload type", base.DEC, PAYLOAD_TYPE_NAMES, bits_of(SPEC.payload.header.type), SPEC.payload.header.type.description),
  p_wide = ProtoField.uint8("qotp.payload.wide", "48-bit offsets", base.DEC, nil, bits_of(SPEC.payload.header.wideOffsets), SPEC.payload.header.wideOffsets.description),
  ack_stream = ProtoField.uint32("qotp.ack.stream", "ACK stream id", base.DEC),
  ack_offset = ProtoField.uint64("qotp.ack.offset", "ACK offset", base.DEC),
  ack_length = ProtoField.uint16("qotp.ack.length", "ACK length", base.DEC),
  ack_window_code = ProtoField.uint8("qotp.ack.window_code", "ACK window code", base.DEC),
  ack_window = ProtoField.uint64("qotp.ack.window", "ACK window (bytes)", base.DEC, nil, nil, "the window code decoded (clause flow.window-advertised)"),
  stream_id = ProtoField.uint32("qotp.stream.id", "Stream id", base.DEC),
  stream_offset = ProtoField.uint64("qotp.stream.offset", "Stream offset", base.DEC),
  data_length = ProtoField.uint32("qotp.data.length", "Data length", base.DEC),
  data = ProtoField.bytes("qotp.data", "Data"),
  ping = ProtoField.bool("qotp.ping", "PING", base.NONE, nil, nil, "a stream section without data (clause payload.ping)"),
  close = ProtoField.bool("qotp.close", "CLOSE", base.NONE, nil, nil, "clause payload.close"),
  next_type = ProtoField.uint8("qotp.next.type", "Next revision's packet type", base.DEC, nil, nil, "a payload by the layout of the next revision (SPEC.md \"Next revision\")"),
}
for name, spec in pairs(SPEC.keyFields) do
  f[name] = ProtoField.bytes("qotp." .. name, spec.label, base.NONE, spec.description)
end
qotp.fields = f

local e_auth = ProtoExpert.new("qotp.not_authentic", "Does not authenticate with the key log's secret", expert.group.DECRYPTION, expert.severity.WARN)
local e_nokey = ProtoExpert.new("qotp.no_key", "No key log secret for this connection", expert.group.DECRYPTION, expert.severity.NOTE)
local e_payload = ProtoExpert.new("qotp.bad_payload", "The payload does not decode", expert.group.MALFORMED, expert.severity.ERROR)
local e_next = ProtoExpert.new("qotp.next_revision", "Payload of the next revision's layout", expert.group.PROTOCOL, expert.severity.NOTE)
qotp.experts = { e_auth, e_nokey, e_payload, e_next }

qotp.prefs.keylog = Pref.string("Key log file", "", "A QOTP key log: lines 'QOTP_SHARED_SECRET <connId> <secret>' and 'QOTP_SHARED_SECRET_ID <connId> <secret>' (what the conformance suite writes beside each pcap, and the Go original with a key log writer)")

-- The key log: connection id (lower-case hex, no leading zeros) -> { shared = bytes, identity = bytes }.
local secrets, loaded_from = {}, nil
local function hex_bytes(s) local t = {} for h in s:gmatch("%x%x") do t[#t + 1] = tonumber(h, 16) end return t end
local function load_keylog()
  local path = qotp.prefs.keylog
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
function qotp.init() loaded_from = nil end

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

-- Who sealed each connection's packets: the address that sent its first packet is the initiator.
local initiators = {}
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
  local fixed = 1 + (has_ack and 4 + off + 3 or 0) + (ptype.mtuUpdate and nx.mtuValueSize or 0) + (ptype.keyUpdate and 32 or 0) + (ptype.keyUpdateAck and 32 or 0)
  if len < fixed then return false end
  local stream_header = ptype.code ~= 0 or not has_ack or len > fixed
  if stream_header and len < fixed + 4 + off then return false end
  item:set_text("Payload, by the layout of the next revision (" .. nx.name .. ", not released): " .. ptype.name)
  item:add(f.next_type, ptvb(0, 1), field_value(flags, nx.header.type))
  item:add_proto_expert_info(e_next, "the payload of a revision this dissector reads but the suite does not check: " .. nx.name)
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
  if len < SPEC.minPayload then item:add_proto_expert_info(e_payload, "a payload of " .. len .. " bytes, fewer than " .. SPEC.minPayload); return end
  local header = ptvb(0, 1):uint()
  item:add(f.p_version, ptvb(0, 1)); item:add(f.p_type, ptvb(0, 1)); item:add(f.p_wide, ptvb(0, 1))
  if field_value(header, SPEC.payload.header.version) ~= SPEC.protoVersion then
    if not dissect_next_payload(ptvb, item, pinfo) then item:add_proto_expert_info(e_payload, "unsupported payload version") end
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
  if secret == nil then tree:add_proto_expert_info(e_nokey, "no " .. m.secret .. " secret for connection " .. conn .. " in the key log"); return end
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
          ptvb = ptvb(SPEC.fillerLengthSize + filler):tvb()
        end
        dissect_payload(ptvb, tree, pinfo)
        return
      end
    end
  end
  tree:add(f.authentic, tvb(len - SPEC.macSize, SPEC.macSize), false)
  tree:add_proto_expert_info(e_auth, "no epoch or direction authenticates sequence number " .. sn .. " under connection " .. conn .. "'s " .. m.secret .. " secret")
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
  pinfo.cols.info:append(" conn " .. conn_key(tvb, 1))
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
