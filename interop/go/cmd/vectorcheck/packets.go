package main

// Checks of the crypto-layer vectors with qotp's own encoders and decoders:
//   - valid tests: the Go encoder, given the same keys and inputs, produces the same
//     bytes; the receive path below and qotp.DecryptPcap both recover the payload;
//   - invalid tests: the receive path rejects the packet;
//   - acceptable tests: either, and a packet it accepts must decode as the vector says.
// The receive path mirrors qotp's Listener.decode: size floor, version, type, then the
// type's decoder with the keys the receiver holds, looking connections up by id.

import (
	"bytes"
	"crypto/ecdh"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"

	"github.com/qo-proto/qotp"
	"github.com/qotp-conformance/interop/internal/qotpx"
)

type keys struct {
	initiatorIdentity, initiatorEphemeral, responderIdentity, responderEphemeral *ecdh.PrivateKey
	connID                                                                       uint64
	ephemeralSecret, identitySecret                                              []byte
}

func privateKey(hexKey string) (*ecdh.PrivateKey, error) {
	raw, err := hex.DecodeString(hexKey)
	if err != nil {
		return nil, err
	}
	return ecdh.X25519().NewPrivateKey(raw)
}

func loadKeys(ks keySet) (*keys, error) {
	var k keys
	var err error
	for _, p := range []struct {
		dst **ecdh.PrivateKey
		hex string
	}{
		{&k.initiatorIdentity, ks.InitiatorIdentityPrivateKey},
		{&k.initiatorEphemeral, ks.InitiatorEphemeralPrivateKey},
		{&k.responderIdentity, ks.ResponderIdentityPrivateKey},
		{&k.responderEphemeral, ks.ResponderEphemeralPrivateKey},
	} {
		if *p.dst, err = privateKey(p.hex); err != nil {
			return nil, err
		}
	}
	connID, err := hex.DecodeString(ks.ConnID)
	if err != nil || len(connID) != 8 {
		return nil, fmt.Errorf("bad connId %q", ks.ConnID)
	}
	k.connID = binary.LittleEndian.Uint64(connID)
	if k.ephemeralSecret, err = hex.DecodeString(ks.EphemeralSecret); err != nil {
		return nil, err
	}
	if k.identitySecret, err = hex.DecodeString(ks.IdentitySecret); err != nil {
		return nil, err
	}
	return &k, nil
}

// quietly runs one of qotp's functions named what with os.Stdout captured: qotp v0.2.18's
// InitCryptoSnd encoder and decoder print the packet and the 0-RTT identity secret with
// fmt.Printf (finding G2); later releases print nothing. Whatever it prints is kept off
// the report and counted as a finding, with its size; nothing printed, no finding.
func quietly(what string, f func()) {
	r, w, err := os.Pipe()
	if err != nil {
		f()
		return
	}
	saved := os.Stdout
	os.Stdout = w
	printed := make(chan int)
	go func() {
		n, _ := io.Copy(io.Discard, r)
		printed <- int(n)
	}()
	defer func() {
		os.Stdout = saved
		w.Close()
		if <-printed > 0 {
			finding(fmt.Sprintf(
				"qotp's %s writes to stdout (v0.2.18 prints the packet and the 0-RTT identity secret: finding G2)", what))
		}
		r.Close()
	}()
	f()
}

// encrypt builds the packet of a valid test with qotp's encoder for its message type.
func encrypt(k *keys, v *packetTest) (packet []byte, err error) {
	payload, err := hex.DecodeString(v.Payload)
	if err != nil {
		return nil, err
	}
	switch v.Message {
	case "InitSnd":
		_, packet = qotpx.EncryptInitSnd(k.initiatorIdentity.PublicKey(), k.initiatorEphemeral.PublicKey(), v.MTU)
	case "InitRcv":
		packet, err = qotpx.EncryptInitRcv(k.connID, k.responderIdentity.PublicKey(), k.initiatorEphemeral.PublicKey(),
			k.responderEphemeral, v.Sn, payload)
	case "InitCryptoSnd":
		quietly("encryptInitCryptoSnd", func() {
			_, packet, err = qotpx.EncryptInitCryptoSnd(k.responderIdentity.PublicKey(), k.initiatorIdentity.PublicKey(),
				k.initiatorEphemeral, v.Sn, v.MTU, payload)
		})
	case "InitCryptoRcv":
		packet, err = qotpx.EncryptInitCryptoRcv(k.connID, k.initiatorEphemeral.PublicKey(), k.responderEphemeral,
			v.Sn, payload)
	case "Data":
		packet, err = qotpx.EncryptData(k.connID, v.SealedByInitiator, k.ephemeralSecret, v.Sn, v.Epoch, payload)
	default:
		return nil, fmt.Errorf("unknown message %q", v.Message)
	}
	return packet, err
}

var errRejected = errors.New("rejected")

type received struct {
	payload []byte
	msg     *qotp.Message // nil for InitSnd
}

// epochOf reads qotp.Message's unexported currentEpochCrypt.
func epochOf(m *qotp.Message) uint64 {
	return reflect.ValueOf(m).Elem().FieldByName("currentEpochCrypt").Uint()
}

// receive does what a qotp listener with the test's receiver state does with the datagram.
func receive(k *keys, v *packetTest, datagram []byte) (r received, err error) {
	rc := v.Receiver
	// The listener reads into an MTU-sized buffer: longer datagrams are cut, and
	// decoders see a slice whose capacity is the MTU.
	n := min(len(datagram), rc.MTU)
	buf := make([]byte, rc.MTU)
	copy(buf, datagram[:n])
	packet := buf[:n]

	identity, ephemeral := k.responderIdentity, k.responderEphemeral
	if rc.Role == "initiator" {
		identity, ephemeral = k.initiatorIdentity, k.initiatorEphemeral
	}
	if len(packet) < qotp.MinPacketSize {
		return r, fmt.Errorf("%w: %d bytes is under MinPacketSize", errRejected, len(packet))
	}
	if packet[0]&0x1f != qotp.CryptoVersion {
		return r, fmt.Errorf("%w: version %d", errRejected, packet[0]&0x1f)
	}
	lookup := func() error {
		if !rc.KnowsConnection || binary.LittleEndian.Uint64(packet[1:9]) != k.connID {
			return fmt.Errorf("%w: connection not found", errRejected)
		}
		return nil
	}
	wrap := func(e error) error { return fmt.Errorf("%w: %v", errRejected, e) }

	switch qotp.CryptoMsgType(packet[0] >> 5) {
	case qotp.InitSnd:
		_, epSnd, e := qotpx.DecryptInitSnd(packet, rc.MTU)
		if e != nil {
			return r, wrap(e)
		}
		if _, e := ephemeral.ECDH(epSnd); e != nil { // the listener derives the secret next
			return r, wrap(e)
		}
		return received{payload: []byte{}}, nil
	case qotp.InitCryptoSnd:
		var m *qotp.Message
		var e error
		quietly("decryptInitCryptoSnd", func() { _, _, m, e = qotpx.DecryptInitCryptoSnd(packet, identity, rc.MTU) })
		if e != nil {
			return r, wrap(e)
		}
		return received{payload: m.PayloadRaw, msg: m}, nil
	case qotp.InitRcv:
		if e := lookup(); e != nil {
			return r, e
		}
		_, _, _, m, e := qotpx.DecryptInitRcv(packet, ephemeral)
		if e != nil {
			return r, wrap(e)
		}
		return received{payload: m.PayloadRaw, msg: m}, nil
	case qotp.InitCryptoRcv:
		if e := lookup(); e != nil {
			return r, e
		}
		_, _, m, e := qotpx.DecryptInitCryptoRcv(packet, ephemeral)
		if e != nil {
			return r, wrap(e)
		}
		return received{payload: m.PayloadRaw, msg: m}, nil
	case qotp.Data:
		if e := lookup(); e != nil {
			return r, e
		}
		m, e := qotpx.DecryptData(packet, rc.Role == "initiator", rc.Epoch, k.ephemeralSecret)
		if e != nil {
			return r, wrap(e)
		}
		return received{payload: m.PayloadRaw, msg: m}, nil
	default:
		return r, fmt.Errorf("%w: unknown type %d", errRejected, packet[0]>>5)
	}
}

// receiveRecovering is receive with a panic turned into a rejection that is also
// reported as a finding: the listener has no recover, so such a packet stops it.
func receiveRecovering(k *keys, v *packetTest, datagram []byte) (r received, err error) {
	defer func() {
		if p := recover(); p != nil {
			finding(fmt.Sprintf("the Go receive path panics instead of dropping the packet (%v); first seen on %s", p, v.ID))
			err = fmt.Errorf("%w: panic: %v", errRejected, p)
		}
	}()
	return receive(k, v, datagram)
}

func checkPacket(k *keys, v *packetTest) error {
	packet, err := hex.DecodeString(v.Packet)
	if err != nil {
		return err
	}
	got, err := receiveRecovering(k, v, packet)
	if v.Result == "invalid" {
		if err == nil {
			return fmt.Errorf("Go accepted the packet, vector says %s", v.Error)
		}
		return nil
	}
	if err != nil && v.Result == "acceptable" {
		finding(fmt.Sprintf("Go drops an acceptable packet (allowed): %s", v.ID))
		return nil
	}
	if err != nil {
		return fmt.Errorf("Go rejected a valid packet: %v", err)
	}
	want, _ := hex.DecodeString(v.Decoded.Payload)
	if !bytes.Equal(got.payload, want) {
		return fmt.Errorf("payload %x, vector says %x", got.payload, want)
	}
	if got.msg != nil {
		if v.Decoded.Sn == nil || got.msg.SnConn != *v.Decoded.Sn {
			return fmt.Errorf("sn %d, vector says %v", got.msg.SnConn, v.Decoded.Sn)
		}
		if v.Decoded.Epoch == nil || epochOf(got.msg) != *v.Decoded.Epoch {
			return fmt.Errorf("epoch %d, vector says %v", epochOf(got.msg), v.Decoded.Epoch)
		}
	}
	if v.Mutation != "" {
		return nil // built by changing sealed bytes: no encoder produces it
	}
	built, err := encrypt(k, v)
	if err != nil {
		return fmt.Errorf("Go encoder: %v", err)
	}
	if !bytes.Equal(built, packet) {
		return fmt.Errorf("Go encoder produced %x, vector says %x", built, packet)
	}
	if v.Message == "InitSnd" {
		return nil // DecryptPcap has nothing to decrypt in an InitSnd
	}
	var pcap []byte
	quietly("DecryptPcap", func() {
		pcap, err = qotp.DecryptPcap(packet, v.Receiver.Role == "initiator", v.Receiver.Epoch,
			k.ephemeralSecret, k.identitySecret)
	})
	if err != nil {
		return fmt.Errorf("DecryptPcap: %v", err)
	}
	if !bytes.Equal(pcap, want) {
		return fmt.Errorf("DecryptPcap payload %x, vector says %x", pcap, want)
	}
	return nil
}

func checkPackets(path string, t *tally) error {
	var f packetFile
	if err := readJSON(path, &f); err != nil {
		return err
	}
	for _, g := range f.TestGroups {
		k, err := loadKeys(g.KeySet)
		if err != nil {
			return fmt.Errorf("key set: %v", err)
		}
		for i := range g.Tests {
			v := &g.Tests[i]
			t.check(v.ID, func() error { return checkPacket(k, v) })
		}
	}
	return nil
}
