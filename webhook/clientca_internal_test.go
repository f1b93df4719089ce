package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// The log of refused handshakes, on a clock the test moves: one info line
// per reason per interval, carrying how many were refused since the last
// one; every refusal counted.
func TestHandshakeLogLimitsInfoLinesPerReason(t *testing.T) {
	var buf bytes.Buffer
	counted := map[string]int{}
	h := newHandshakeLog(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), func(r string) { counted[r]++ })
	now := time.Unix(1000, 0)
	h.now = func() time.Time { return now }
	from := &net.TCPAddr{IP: net.ParseIP("10.0.0.7"), Port: 40000}
	noCert := errors.New("tls: client didn't provide a certificate")

	type line struct {
		Level, Reason string
		Also          *int `json:"also_refused_since_last_line"`
	}
	take := func() []line {
		var out []line
		dec := json.NewDecoder(&buf)
		for {
			var l line
			if err := dec.Decode(&l); err == io.EOF {
				return out
			} else if err != nil {
				t.Fatal(err)
			}
			out = append(out, l)
		}
	}
	levels := func(ls []line) (info, debug int) {
		for _, l := range ls {
			switch l.Level {
			case "INFO":
				info++
			case "DEBUG":
				debug++
			}
		}
		return info, debug
	}

	for range 5 {
		h.failed(from, noCert)
		now = now.Add(time.Second)
	}
	ls := take()
	if info, debug := levels(ls); info != 1 || debug != 4 || ls[0].Level != "INFO" || *ls[0].Also != 0 {
		t.Fatalf("5 refusals within the interval: %d info, %d debug (first %+v), want the first at info, 4 at debug", info, debug, ls[0])
	}
	// Another reason has its own allowance.
	h.failed(from, errors.New("tls: client offered only unsupported versions"))
	if ls := take(); len(ls) != 1 || ls[0].Level != "INFO" || ls[0].Reason != HandshakeOther {
		t.Fatalf("the first refusal of another reason: %+v, want one info line", ls)
	}
	// Once the interval has passed, the next line says what was quiet.
	now = now.Add(h.interval)
	h.failed(from, noCert)
	if ls := take(); len(ls) != 1 || ls[0].Level != "INFO" || ls[0].Also == nil || *ls[0].Also != 4 {
		t.Fatalf("after the interval: %+v, want an info line saying 4 more were refused", ls)
	}
	// A client that hangs up before saying anything is only debug.
	h.failed(from, io.EOF)
	if ls := take(); len(ls) != 1 || ls[0].Level != "DEBUG" || ls[0].Reason != HandshakeClosed {
		t.Fatalf("a closed connection: %+v, want one debug line", ls)
	}
	if counted[HandshakeNoCertificate] != 6 || counted[HandshakeOther] != 1 || counted[HandshakeClosed] != 1 {
		t.Errorf("counted %v, want every refusal", counted)
	}
}
