package main

// Go views of the vector files (see vectors/schemas). Only the fields the checks use.

import "encoding/json"

type vectorTest struct {
	ID     string   `json:"id"`
	Flags  []string `json:"flags"`
	Result string   `json:"result"`
	Error  string   `json:"error"`
}

func (t vectorTest) hasFlag(flag string) bool {
	for _, f := range t.Flags {
		if f == flag {
			return true
		}
	}
	return false
}

type fileHeader struct {
	Algorithm     string `json:"algorithm"`
	NumberOfTests int    `json:"numberOfTests"`
}

type uintFile struct {
	fileHeader
	TestGroups []struct {
		Bits  int `json:"bits"`
		Tests []struct {
			vectorTest
			Value   json.Number `json:"value"`
			Encoded string      `json:"encoded"`
		} `json:"tests"`
	} `json:"testGroups"`
}

type windowFile struct {
	fileHeader
	TestGroups []struct {
		Direction string `json:"direction"`
		Tests     []struct {
			vectorTest
			Code  int         `json:"code"`
			Bytes json.Number `json:"bytes"`
		} `json:"tests"`
	} `json:"testGroups"`
}

type ackJSON struct {
	StreamID uint32 `json:"streamId"`
	Offset   uint64 `json:"offset"`
	Length   uint16 `json:"length"`
	Window   uint64 `json:"window"`
}

type streamJSON struct {
	StreamID uint32 `json:"streamId"`
	Offset   uint64 `json:"offset"`
	Data     string `json:"data"`
}

type payloadJSON struct {
	IsClose bool        `json:"isClose"`
	Ack     *ackJSON    `json:"ack"`
	Stream  *streamJSON `json:"stream"`
}

type payloadFile struct {
	fileHeader
	TestGroups []struct {
		Kind  string `json:"kind"`
		Tests []struct {
			vectorTest
			Encoded string       `json:"encoded"`
			Payload *payloadJSON `json:"payload"`
		} `json:"tests"`
	} `json:"testGroups"`
}

type keySet struct {
	InitiatorIdentityPrivateKey  string `json:"initiatorIdentityPrivateKey"`
	InitiatorEphemeralPrivateKey string `json:"initiatorEphemeralPrivateKey"`
	ResponderIdentityPrivateKey  string `json:"responderIdentityPrivateKey"`
	ResponderEphemeralPrivateKey string `json:"responderEphemeralPrivateKey"`
	ConnID                       string `json:"connId"`
	EphemeralSecret              string `json:"ephemeralSecret"`
	IdentitySecret               string `json:"identitySecret"`
}

type receiverJSON struct {
	Role            string `json:"role"`
	MTU             int    `json:"mtu"`
	Epoch           uint64 `json:"epoch"`
	KnowsConnection bool   `json:"knowsConnection"`
}

type packetTest struct {
	vectorTest
	Message           string       `json:"message"`
	Sn                uint64       `json:"sn"`
	Epoch             uint64       `json:"epoch"`
	SealedByInitiator bool         `json:"sealedByInitiator"`
	MTU               int          `json:"mtu"`
	Payload           string       `json:"payload"`
	Mutation          string       `json:"mutation"`
	Packet            string       `json:"packet"`
	Receiver          receiverJSON `json:"receiver"`
	Decoded           *struct {
		Payload string  `json:"payload"`
		Sn      *uint64 `json:"sn"`
		Epoch   *uint64 `json:"epoch"`
	} `json:"decoded"`
}

type packetFile struct {
	fileHeader
	TestGroups []struct {
		KeySet keySet       `json:"keySet"`
		Tests  []packetTest `json:"tests"`
	} `json:"testGroups"`
}

type rtoFile struct {
	fileHeader
	TestGroups []struct {
		Kind  string `json:"kind"`
		Tests []struct {
			vectorTest
			Samples []struct {
				Rtt    uint64 `json:"rtt"`
				Srtt   uint64 `json:"srtt"`
				Rttvar uint64 `json:"rttvar"`
				Rto    uint64 `json:"rto"`
			} `json:"samples"`
			Rto      uint64 `json:"rto"`
			Schedule []struct {
				Transmission int     `json:"transmission"`
				Wait         *uint64 `json:"wait"`
			} `json:"schedule"`
			Steps []struct {
				Event       string `json:"event"`
				Rtt         uint64 `json:"rtt"`
				BytesAcked  uint64 `json:"bytesAcked"`
				Now         uint64 `json:"now"`
				BwMax       uint64 `json:"bwMax"`
				GainPercent uint64 `json:"gainPercent"`
				IsStartup   bool   `json:"isStartup"`
				Pacing      uint64 `json:"pacing"`
			} `json:"steps"`
		} `json:"tests"`
	} `json:"testGroups"`
}

type snMaskFile struct {
	fileHeader
	TestGroups []struct {
		Kind  string `json:"kind"`
		Tests []struct {
			vectorTest
			Key    string `json:"key"`
			Nonce  string `json:"nonce"`
			Subkey string `json:"subkey"`
			Sn     string `json:"sn"`
			Masked string `json:"masked"`
		} `json:"tests"`
	} `json:"testGroups"`
}

type rcvBufferFile struct {
	fileHeader
	TestGroups []struct {
		Tests []struct {
			vectorTest
			Capacity int `json:"capacity"`
			Steps    []struct {
				Op       string `json:"op"`
				StreamID uint32 `json:"streamId"`
				Offset   uint64 `json:"offset"`
				Length   int    `json:"length"`
				Result   string `json:"result"`
				Bytes    int    `json:"bytes"`
				Buffered int    `json:"buffered"`
				Window   uint64 `json:"window"`
			} `json:"steps"`
		} `json:"tests"`
	} `json:"testGroups"`
}
