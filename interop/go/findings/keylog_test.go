package findings

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"reflect"
	"testing"

	"github.com/qo-proto/qotp"
)

// generation tells the two known qotp releases apart by a field their Stream type has:
// v0.2.19 replaced Stream.closedAtNano by rcvClosed and sndClosed. A Go workspace build
// reports its qotp as "(devel)", so the module version cannot say which code this is.
func generation(t *testing.T) string {
	stream := reflect.TypeOf(qotp.Stream{})
	if _, ok := stream.FieldByName("rcvClosed"); ok {
		return "v0.2.19"
	}
	if _, ok := stream.FieldByName("closedAtNano"); ok {
		return "v0.2.18"
	}
	t.Fatal("qotp.Stream has neither closedAtNano (v0.2.18) nor rcvClosed (v0.2.19): a release these findings do not know")
	return ""
}

// dialPanics dials with a listener that has a key log writer and reports the panic, if any.
func dialPanics(t *testing.T, dial func(l *qotp.Listener) error) (recovered any, logged string) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	var keyLog bytes.Buffer
	l, err := qotp.Listen(qotp.WithNetworkConn(qotp.NewUDPNetworkConn(udp)), qotp.WithKeyLogWriter(&keyLog))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	func() {
		defer func() { recovered = recover() }()
		if err := dial(l); err != nil {
			t.Fatalf("dial: %v", err)
		}
	}()
	return recovered, keyLog.String()
}

// G17: v0.2.19 writes the key log when a connection is created; on an initiator that runs
// an ECDH with the responder's ephemeral key, which no initiator has before the reply, so
// Dial (1-RTT) and DialWithCrypto (0-RTT) panic with a nil pointer as soon as a key log
// writer is set. v0.2.18 logs later, on the reply, and dials fine.
func TestInitiatorWithKeyLogWriter(t *testing.T) {
	release := generation(t)
	responderIdentity, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	to := netip.MustParseAddrPort("127.0.0.1:9") // nothing is sent: the panic comes first
	dials := map[string]func(l *qotp.Listener) error{
		"Dial": func(l *qotp.Listener) error {
			_, err := l.Dial(to)
			return err
		},
		"DialWithCrypto": func(l *qotp.Listener) error {
			_, err := l.DialWithCrypto(to, responderIdentity.PublicKey())
			return err
		},
	}
	for name, dial := range dials {
		recovered, logged := dialPanics(t, dial)
		switch {
		case release == "v0.2.19" && recovered == nil:
			t.Errorf("%s with a key log writer did not panic on %s: finding G17 no longer holds (key log: %q)",
				name, release, logged)
		case release == "v0.2.18" && recovered != nil:
			t.Errorf("%s with a key log writer panicked on %s: %v", name, release, recovered)
		default:
			outcome := "no panic"
			if recovered != nil {
				outcome = fmt.Sprintf("panics (%v)", recovered)
			}
			t.Logf("%s, %s: %s", name, release, outcome)
		}
	}
}
