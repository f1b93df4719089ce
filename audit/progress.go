package audit

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress keeps one line on a terminal up to date: what is being listed
// and how many objects have been judged. A nil writer makes it silent.
type progress struct {
	w      io.Writer
	mu     sync.Mutex
	what   string
	n      int
	last   time.Time
	shown  bool
	period time.Duration
}

func newProgress(w io.Writer) *progress { return &progress{w: w, period: 100 * time.Millisecond} }

func (p *progress) listing(resource string) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.what = resource
	p.show(false)
}

func (p *progress) judged(n int) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n = n
	p.show(false)
}

// show redraws the line, at most every period unless forced.
func (p *progress) show(force bool) {
	if !force && time.Since(p.last) < p.period {
		return
	}
	p.last = time.Now()
	p.shown = true
	fmt.Fprintf(p.w, "\r\x1b[Kplimsoll audit: listing %s, %d objects judged", p.what, p.n)
}

// done clears the line.
func (p *progress) done() {
	if p.w == nil || !p.shown {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, "\r\x1b[K")
}
