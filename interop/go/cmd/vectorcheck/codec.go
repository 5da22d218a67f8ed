package main

// Checks of the plain codecs through qotp's exported functions: integers, the
// receive window code and the payload layer.

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"reflect"
	"strconv"
	"unsafe"

	"github.com/qo-proto/qotp"
)

func checkUint(path string, t *tally) error {
	var f uintFile
	if err := readJSON(path, &f); err != nil {
		return err
	}
	for _, g := range f.TestGroups {
		for _, v := range g.Tests {
			t.check(v.ID, func() error {
				value, err := strconv.ParseUint(string(v.Value), 10, 64)
				if err != nil {
					return err
				}
				want, err := hex.DecodeString(v.Encoded)
				if err != nil {
					return err
				}
				got := make([]byte, g.Bits/8)
				var back uint64
				switch g.Bits {
				case 16:
					qotp.PutUint16(got, uint16(value))
					back = uint64(qotp.Uint16(want))
				case 24:
					qotp.PutUint24(got, value)
					back = qotp.Uint24(want)
				case 32:
					qotp.PutUint32(got, uint32(value))
					back = uint64(qotp.Uint32(want))
				case 48:
					qotp.PutUint48(got, value)
					back = qotp.Uint48(want)
				case 64:
					qotp.PutUint64(got, value)
					back = qotp.Uint64(want)
				default:
					return fmt.Errorf("unknown width %d", g.Bits)
				}
				if !bytes.Equal(got, want) {
					return fmt.Errorf("PutUint%d(%d) = %x, vector says %x", g.Bits, value, got, want)
				}
				if back != value {
					return fmt.Errorf("Uint%d(%x) = %d, vector says %d", g.Bits, want, back, value)
				}
				return nil
			})
		}
	}
	return nil
}

func checkWindow(path string, t *tally) error {
	var f windowFile
	if err := readJSON(path, &f); err != nil {
		return err
	}
	for _, g := range f.TestGroups {
		for _, v := range g.Tests {
			t.check(v.ID, func() error {
				size, err := strconv.ParseUint(string(v.Bytes), 10, 64)
				if err != nil {
					return err
				}
				switch g.Direction {
				case "decode":
					if got := qotp.DecodeRcvWindow(uint8(v.Code)); got != size {
						return fmt.Errorf("DecodeRcvWindow(%d) = %d, vector says %d", v.Code, got, size)
					}
				case "encode":
					if got := qotp.EncodeRcvWindow(size); int(got) != v.Code {
						return fmt.Errorf("EncodeRcvWindow(%d) = %d, vector says %d", size, got, v.Code)
					}
				default:
					return fmt.Errorf("unknown direction %q", g.Direction)
				}
				return nil
			})
		}
	}
	return nil
}

// qotp.Ack has only unexported fields. These helpers read them with reflect and set
// them through their addresses; nothing else in the checker touches qotp internals.
func ackField(a *qotp.Ack, name string) reflect.Value {
	f := reflect.ValueOf(a).Elem().FieldByName(name)
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

func newAck(a *ackJSON) *qotp.Ack {
	ack := &qotp.Ack{}
	ackField(ack, "streamID").SetUint(uint64(a.StreamID))
	ackField(ack, "offset").SetUint(a.Offset)
	ackField(ack, "len").SetUint(uint64(a.Length))
	ackField(ack, "rcvWnd").SetUint(a.Window)
	return ack
}

func ackOf(a *qotp.Ack) *ackJSON {
	if a == nil {
		return nil
	}
	return &ackJSON{
		StreamID: uint32(ackField(a, "streamID").Uint()),
		Offset:   ackField(a, "offset").Uint(),
		Length:   uint16(ackField(a, "len").Uint()),
		Window:   ackField(a, "rcvWnd").Uint(),
	}
}

func comparePayload(want *payloadJSON, p *qotp.PayloadHeader, userData []byte) error {
	if p.IsClose != want.IsClose {
		return fmt.Errorf("IsClose = %v, vector says %v", p.IsClose, want.IsClose)
	}
	got := ackOf(p.Ack)
	if (got == nil) != (want.Ack == nil) || (got != nil && *got != *want.Ack) {
		return fmt.Errorf("ack = %+v, vector says %+v", got, want.Ack)
	}
	if want.Stream == nil {
		// No stream section: Go reports stream 0, offset 0 and nil user data.
		if userData != nil || p.StreamID != 0 || p.StreamOffset != 0 {
			return fmt.Errorf("expected no stream section, got stream %d offset %d data %x",
				p.StreamID, p.StreamOffset, userData)
		}
		return nil
	}
	data, _ := hex.DecodeString(want.Stream.Data)
	if userData == nil || p.StreamID != want.Stream.StreamID || p.StreamOffset != want.Stream.Offset ||
		!bytes.Equal(userData, data) {
		return fmt.Errorf("stream %d offset %d data %x (nil=%v), vector says %+v",
			p.StreamID, p.StreamOffset, userData, userData == nil, *want.Stream)
	}
	return nil
}

func checkPayloads(path string, t *tally) error {
	var f payloadFile
	if err := readJSON(path, &f); err != nil {
		return err
	}
	for _, g := range f.TestGroups {
		for _, v := range g.Tests {
			t.check(v.ID, func() error {
				encoded, err := hex.DecodeString(v.Encoded)
				if err != nil {
					return err
				}
				p, userData, err := qotp.DecodePayload(encoded)
				if v.Result == "invalid" {
					if err == nil {
						return fmt.Errorf("DecodePayload accepted it, vector says %s", v.Error)
					}
					return nil
				}
				if err != nil {
					return fmt.Errorf("DecodePayload: %v", err)
				}
				if err := comparePayload(v.Payload, p, userData); err != nil {
					return fmt.Errorf("DecodePayload: %v", err)
				}
				if v.hasFlag("DecodeOnly") {
					return nil
				}
				header := &qotp.PayloadHeader{IsClose: v.Payload.IsClose}
				var data []byte // nil: no stream section
				if v.Payload.Ack != nil {
					header.Ack = newAck(v.Payload.Ack)
				}
				if s := v.Payload.Stream; s != nil {
					header.StreamID, header.StreamOffset = s.StreamID, s.Offset
					data, _ = hex.DecodeString(s.Data)
					if data == nil {
						data = []byte{} // empty, not absent: a PING or empty CLOSE
					}
				}
				if got, _ := qotp.EncodePayload(header, data); !bytes.Equal(got, encoded) {
					return fmt.Errorf("EncodePayload = %x, vector says %x", got, encoded)
				}
				return nil
			})
		}
	}
	return nil
}
