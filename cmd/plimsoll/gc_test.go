package main

import (
	"runtime/debug"
	"testing"
)

func TestServeRaisesGOGCUnlessTheEnvironmentSetsIt(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))

	debug.SetGCPercent(100)
	if got := setGCPercent(func(string) string { return "" }); got != serveGCPercent {
		t.Errorf("GOGC unset: setGCPercent = %d, want %d", got, serveGCPercent)
	}
	if now := debug.SetGCPercent(100); now != serveGCPercent {
		t.Errorf("GOGC unset: the runtime runs at %d, want %d", now, serveGCPercent)
	}

	// The runtime has read GOGC=50 at start; plimsoll leaves it.
	debug.SetGCPercent(50)
	env := map[string]string{"GOGC": "50"}
	if got := setGCPercent(func(k string) string { return env[k] }); got != 50 {
		t.Errorf("GOGC=50: setGCPercent = %d, want 50", got)
	}
	if now := debug.SetGCPercent(100); now != 50 {
		t.Errorf("GOGC=50: the runtime runs at %d, want 50 left alone", now)
	}
}
