package main

// Checks of the receive buffer's accounting with qotp's own ReceiveBuffer: the insert's
// status, the bytes held (Size) and the window an ACK then carries (capacity - Size,
// through qotp's window code), as Conn.Flush computes it.

import (
	"fmt"
	"reflect"

	"github.com/qo-proto/qotp"
)

// readAll takes every in-order byte of a stream out of the buffer. RemoveOldestInOrder
// returns the data alone in v0.2.19 and (offset, data, receive time) in v0.2.18, so it is
// called through reflection and its []byte result is taken.
func readAll(rb *qotp.ReceiveBuffer, streamID uint32) int {
	method := reflect.ValueOf(rb).MethodByName("RemoveOldestInOrder")
	total := 0
	for {
		var chunk []byte
		for _, out := range method.Call([]reflect.Value{reflect.ValueOf(streamID)}) {
			if b, ok := out.Interface().([]byte); ok {
				chunk = b
			}
		}
		if len(chunk) == 0 {
			return total
		}
		total += len(chunk)
	}
}

var insertResults = map[qotp.RcvInsertStatus]string{
	qotp.RcvInsertOk:         "kept",
	qotp.RcvInsertDuplicate:  "duplicate",
	qotp.RcvInsertBufferFull: "full",
}

func checkRcvBuffer(path string, t *tally) error {
	var f rcvBufferFile
	if err := readJSON(path, &f); err != nil {
		return err
	}
	for _, g := range f.TestGroups {
		for _, v := range g.Tests {
			t.check(v.ID, func() error {
				rb := qotp.NewReceiveBuffer(v.Capacity)
				for i, s := range v.Steps {
					switch s.Op {
					case "insert":
						data := make([]byte, s.Length)
						for j := range data {
							data[j] = byte(s.Offset + uint64(j))
						}
						if got := insertResults[rb.Insert(s.StreamID, s.Offset, uint64(i+1), data)]; got != s.Result {
							return fmt.Errorf("step %d: insert of %d bytes at %d is %q, vector says %q",
								i, s.Length, s.Offset, got, s.Result)
						}
					case "read":
						if got := readAll(rb, s.StreamID); got != s.Bytes {
							return fmt.Errorf("step %d: read %d bytes of stream %d, vector says %d", i, got, s.StreamID, s.Bytes)
						}
					default:
						return fmt.Errorf("step %d: unknown op %q", i, s.Op)
					}
					window := qotp.DecodeRcvWindow(qotp.EncodeRcvWindow(uint64(v.Capacity - rb.Size())))
					if rb.Size() != s.Buffered || window != s.Window {
						return fmt.Errorf("step %d (%s): %d bytes held, window %d; vector says %d and %d",
							i, s.Op, rb.Size(), window, s.Buffered, s.Window)
					}
				}
				return nil
			})
		}
	}
	return nil
}
