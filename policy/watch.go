package policy

import (
	"bytes"
	"context"
	"os"
	"time"
)

// Watcher keeps a policy file loaded: it polls the file and, when its
// content changes, loads it again. An invalid file never replaces a good
// policy: OnError is told, and the last good policy stays in force.
//
// Polling the content (not watching inotify events) follows a ConfigMap
// mounted as a volume, whose files change by a symlink swap.
type Watcher struct {
	Path       string
	KnownRules []string
	Interval   time.Duration
	// OnLoad is called with each policy loaded, the first one included.
	OnLoad func(*Policy)
	// OnError is called when a changed file cannot be loaded.
	OnError func(error)

	last []byte
}

// LoadNow reads the file once; it is an error if it cannot be loaded.
func (w *Watcher) LoadNow() (*Policy, error) {
	data, err := os.ReadFile(w.Path)
	if err != nil {
		return nil, err
	}
	p, err := Load(data, w.KnownRules)
	if err != nil {
		return nil, err
	}
	w.last = data
	return p, nil
}

// Run polls until ctx ends. LoadNow must have succeeded first.
func (w *Watcher) Run(ctx context.Context) {
	interval := w.Interval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		data, err := os.ReadFile(w.Path)
		if err != nil {
			if w.last != nil {
				w.OnError(err)
				w.last = nil // report once, retry every tick
			}
			continue
		}
		if bytes.Equal(data, w.last) {
			continue
		}
		w.last = data
		p, err := Load(data, w.KnownRules)
		if err != nil {
			w.OnError(err)
			continue
		}
		w.OnLoad(p)
	}
}
