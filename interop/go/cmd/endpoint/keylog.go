package main

// The client's key log, written by the endpoint rather than by qotp.
//
// qotp has written key logs in two incompatible ways: v0.2.18 logs on the initiator only,
// when the handshake reply is decoded (both secrets, correct); v0.2.19 logs on both sides
// when the connection is created, which on an initiator runs an ECDH with the responder's
// ephemeral key before any reply exists: Dial and DialWithCrypto dereference a nil key and
// panic as soon as a key log writer is set (finding G17 in interop/README.md). So the
// server role hands the writer to qotp (its key log is what the conformance case
// connection.key-log checks), and the client role keeps it from qotp and writes the two
// lines itself from the connection's state, the same on every release:
//
//	QOTP_SHARED_SECRET_ID <connId> <hex>   0-RTT only: initiator ephemeral x responder identity,
//	                                       written at dial time (it seals the InitCryptoSnd)
//	QOTP_SHARED_SECRET    <connId> <hex>   ephemeral x ephemeral, once the reply is decoded
//
// The format is the spec's clause keylog.format (connection id in lower-case hex, no
// leading zeros).

import (
	"crypto/ecdh"
	"fmt"
	"io"
	"reflect"
	"unsafe"

	"github.com/qo-proto/qotp"
)

type clientKeyLog struct {
	w         io.Writer // nil: no key log asked for
	conn      *qotp.Conn
	connID    uint64
	secretSet bool
}

// field reads an unexported field of a qotp.Conn (qotp exposes none of the key material).
func field[T any](c *qotp.Conn, name string) T {
	f := reflect.ValueOf(c).Elem().FieldByName(name)
	if !f.IsValid() {
		fail("qotp.Conn has no field %q: this qotp release is not one the endpoint knows", name)
	}
	return *(*T)(unsafe.Pointer(f.UnsafeAddr()))
}

// newClientKeyLog writes the identity secret of a 0-RTT connection at once.
func newClientKeyLog(w io.Writer, c *qotp.Conn, serverIdentity *ecdh.PublicKey) *clientKeyLog {
	k := &clientKeyLog{w: w, conn: c, connID: field[uint64](c, "connId")}
	if w != nil && serverIdentity != nil {
		secret, err := field[*ecdh.PrivateKey](c, "prvKeyEpSnd").ECDH(serverIdentity)
		if err != nil {
			fail("key log: %v", err)
		}
		k.line("QOTP_SHARED_SECRET_ID", secret)
	}
	return k
}

// poll writes the ephemeral secret once qotp has derived it from the server's reply.
func (k *clientKeyLog) poll() {
	if k.w == nil || k.secretSet {
		return
	}
	if secret := field[[]byte](k.conn, "sharedSecret"); len(secret) > 0 {
		k.secretSet = true
		k.line("QOTP_SHARED_SECRET", secret)
	}
}

func (k *clientKeyLog) line(label string, secret []byte) {
	if _, err := fmt.Fprintf(k.w, "%s %x %x\n", label, k.connID, secret); err != nil {
		fail("key log: %v", err)
	}
}
