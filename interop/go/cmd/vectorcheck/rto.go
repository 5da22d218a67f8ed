package main

// Checks of RTT estimation, RTO and backoff with qotp's own functions on a fresh
// Conn (measurement fields read with reflect).

import (
	"fmt"
	"reflect"

	"github.com/qo-proto/qotp"
	"github.com/qotp-conformance/interop/internal/qotpx"
)

func measurement(c *qotp.Conn, name string) uint64 {
	return reflect.ValueOf(c).Elem().FieldByName(name).Uint()
}

func checkRto(path string, t *tally) error {
	var f rtoFile
	if err := readJSON(path, &f); err != nil {
		return err
	}
	for _, g := range f.TestGroups {
		for _, v := range g.Tests {
			t.check(v.ID, func() error {
				switch g.Kind {
				case "rtt-samples":
					c := &qotp.Conn{Measurements: qotp.NewMeasurements()}
					for i, s := range v.Samples {
						// bytesAcked and now only feed the bandwidth estimate; both must be non-zero.
						qotpx.UpdateMeasurements(c, s.Rtt, 1400, uint64(i+1)*1_000_000_000)
						srtt, rttvar, rto := measurement(c, "srtt"), measurement(c, "rttvar"), qotpx.RtoNano(c)
						if srtt != s.Srtt || rttvar != s.Rttvar || rto != s.Rto {
							return fmt.Errorf("after sample %d (%d ns): srtt %d rttvar %d rto %d, vector says %d %d %d",
								i, s.Rtt, srtt, rttvar, rto, s.Srtt, s.Rttvar, s.Rto)
						}
					}
				case "backoff":
					for _, row := range v.Schedule {
						wait, err := qotpx.Backoff(v.Rto, row.Transmission)
						if row.Wait == nil {
							if err == nil {
								return fmt.Errorf("transmission %d: backoff = %d, vector says give up", row.Transmission, wait)
							}
						} else if err != nil || wait != *row.Wait {
							return fmt.Errorf("transmission %d: backoff = %d (%v), vector says %d", row.Transmission, wait, err, *row.Wait)
						}
					}
				case "bbr":
					c := &qotp.Conn{Measurements: qotp.NewMeasurements()}
					for i, st := range v.Steps {
						switch st.Event {
						case "ack":
							qotpx.UpdateMeasurements(c, st.Rtt, st.BytesAcked, st.Now)
						case "duplicate-ack":
							qotpx.OnDuplicateAck(c)
						case "retransmit":
							qotpx.OnPacketLoss(c)
						default:
							return fmt.Errorf("unknown event %q", st.Event)
						}
						bw, gain := measurement(c, "bwMax"), measurement(c, "pacingGainPct")
						startup := reflect.ValueOf(c).Elem().FieldByName("isStartup").Bool()
						pacing := qotpx.CalcPacing(c, 1400)
						if bw != st.BwMax || gain != st.GainPercent || startup != st.IsStartup || pacing != st.Pacing {
							return fmt.Errorf("after step %d (%s): bwMax %d gain %d startup %v pacing %d, vector says %d %d %v %d",
								i, st.Event, bw, gain, startup, pacing, st.BwMax, st.GainPercent, st.IsStartup, st.Pacing)
						}
					}
				default:
					return fmt.Errorf("unknown kind %q", g.Kind)
				}
				return nil
			})
		}
	}
	return nil
}
