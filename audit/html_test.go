package audit_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/audit"
	"github.com/plimsoll/plimsoll/policy"
)

// htmlReport renders the mixed cluster, with an exemption whose reason
// tries to inject markup.
func htmlReport(t *testing.T) []byte {
	t.Helper()
	p := policy.Default()
	p.Exemptions = []policy.Exemption{{Reason: `<script>alert("owned")</script> & "quotes"`, Names: []string{"agent"}, Rules: []string{"privileged"}}}
	c, _ := paginated(t, mixedCluster())
	r := runAudit(t, c, audit.Options{Policy: p})
	r.Context = `prod <eu-west-1>`
	var out bytes.Buffer
	if err := r.WriteHTML(&out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestHTMLIsSelfContainedAndEscaped(t *testing.T) {
	page := string(htmlReport(t))
	if !strings.HasPrefix(page, "<!DOCTYPE html>") {
		t.Error("not an HTML5 document")
	}
	for _, forbidden := range []string{"<script", "<link", " src=", "@import", "url(", "http://", "https://"} {
		if strings.Contains(page, forbidden) {
			t.Errorf("the page contains %q: it must be self-contained and carry no script", forbidden)
		}
	}
	for _, want := range []string{
		"plimsoll audit of prod &lt;eu-west-1&gt;",
		"&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt; &amp; &#34;quotes&#34;", // the exemption, escaped
		"pin a version: image: nginx:&lt;version&gt; or nginx@sha256:&lt;digest&gt;", // a fix
		`<a href="#ns-shop">shop</a>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	summary := strings.Index(page, `id="summary"`)
	first := strings.Index(page, `id="ns-shop"`)
	if summary < 0 || first < 0 || summary > first {
		t.Errorf("the summary (at %d) must come before the namespaces (at %d)", summary, first)
	}
	// Every denied finding is shown unfolded, with its fix.
	denied := regexp.MustCompile(`(?s)<details class="denied" open>.*?</details>`).FindAllString(page, -1)
	if len(denied) != 1 {
		t.Errorf("%d unfolded groups of denied findings, want 1 (image-tag; privileged is exempted)", len(denied))
	}
}

// TestHTMLRendersInChromium opens the page in headless Chromium and checks
// the screenshot shows something: a blank page (broken markup, a CSS
// mistake hiding everything) fails. Without Chromium it is skipped, saying
// so, except in CI (CI=true, as .ci/run sets it), where it fails: CI
// installs Chromium, and a skip there would hide the report unrendered.
func TestHTMLRendersInChromium(t *testing.T) {
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		msg := fmt.Sprintf("%s is not installed (Debian: apt-get install -y chromium): the HTML report is not rendered", chromium)
		if inCI() {
			t.Fatalf("CI=%s: %s", os.Getenv("CI"), msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "audit.html")
	if err := os.WriteFile(page, htmlReport(t), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "audit.png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--screenshot="+shot, "--window-size=1280,2000",
		"file://"+page)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	if keep := os.Getenv("PLIMSOLL_KEEP_SCREENSHOT"); keep != "" {
		if b, err := os.ReadFile(shot); err == nil {
			_ = os.WriteFile(keep, b, 0o644)
		}
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	b := img.Bounds()
	var ink, red int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			if r < 240 || g < 240 || bl < 240 {
				ink++
			}
			// the colour of "would be denied" (#b42318)
			if r > 150 && g < 70 && bl < 60 {
				red++
			}
		}
	}
	total := b.Dx() * b.Dy()
	t.Logf("screenshot %dx%d: %d non-white pixels (%.1f%%), %d in the colour of denials", b.Dx(), b.Dy(), ink, 100*float64(ink)/float64(total), red)
	if b.Dx() != 1280 {
		t.Errorf("screenshot width = %d, want 1280", b.Dx())
	}
	if float64(ink) < 0.02*float64(total) {
		t.Errorf("the page looks blank: %d of %d pixels are not white", ink, total)
	}
	if red < 200 {
		t.Errorf("only %d pixels in the colour of denials: the summary or the denied findings did not render", red)
	}
}

// inCI reports whether the tests run in CI: CI set to true (.ci/run, and
// most CI services, set it), where a missing tool is a failure, not a skip.
func inCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}
