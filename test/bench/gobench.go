package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// goPackages hold the benchmarks: BenchmarkPipeline and BenchmarkHandler.
var goPackages = []string{"./pipeline/", "./webhook/"}

// goResult is the median of a benchmark's runs.
type goResult struct {
	name              string
	nsOp, cpuNsOp     float64
	bytesOp, allocsOp float64
	runs              int
	before            *goResult
}

func (r *report) goCommand() []string {
	return append([]string{"go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", r.goBenchtime, "-count", "1"}, goPackages...)
}

// goBenchmarks runs the Go benchmarks goCount times (with BENCH_BEFORE,
// alternating with the same benchmarks on that revision) and keeps the
// medians.
func (r *report) goBenchmarks(ctx context.Context) error {
	var beforeDir string
	if r.before != "" {
		dir, err := r.checkoutBefore(ctx)
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		beforeDir = dir
	}
	after := map[string][]goResult{}
	before := map[string][]goResult{}
	var order []string
	for i := range r.goCount {
		trees := []string{r.root}
		if beforeDir != "" {
			trees = append(trees, beforeDir)
			if i%2 == 1 {
				slices.Reverse(trees)
			}
		}
		for _, dir := range trees {
			logf("go benchmarks, run %d of %d (%s)", i+1, r.goCount, map[bool]string{true: "current tree", false: "before: " + r.before}[dir == r.root])
			results, err := runGoBench(ctx, dir, r.root, r.goCommand())
			if err != nil {
				return err
			}
			into := after
			if dir != r.root {
				into = before
			}
			for _, res := range results {
				if _, seen := after[res.name]; !seen && dir == r.root {
					order = append(order, res.name)
				}
				into[res.name] = append(into[res.name], res)
			}
		}
	}
	for _, name := range order {
		res := medianRun(after[name])
		if b, ok := before[name]; ok {
			m := medianRun(b)
			res.before = &m
		}
		r.goResults = append(r.goResults, res)
	}
	return nil
}

// checkoutBefore extracts revision r.before (git archive: the repository
// is not touched) and lays the current benchmarks and fixtures over it.
func (r *report) checkoutBefore(ctx context.Context) (string, error) {
	dir, err := os.MkdirTemp("", "plimsoll-bench-before-")
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", fmt.Sprintf("git archive --format=tar %q | tar -x -C %q", r.before, dir))
	cmd.Dir = r.root
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("git archive %s: %w\n%s", r.before, err, out)
	}
	for _, rel := range []string{"pipeline/pipeline_bench_test.go", "webhook/handler_bench_test.go", "internal/fixtures"} {
		parent := filepath.Dir(filepath.Join(dir, rel))
		if err := os.MkdirAll(parent, 0o755); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
		cp := exec.CommandContext(ctx, "cp", "-r", filepath.Join(r.root, rel), parent)
		if out, err := cp.CombinedOutput(); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("copying %s over %s: %w\n%s", rel, r.before, err, out)
		}
	}
	return dir, nil
}

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)(-\d+)?\s+\d+\s+(.*)$`)

func runGoBench(ctx context.Context, dir, root string, args []string) ([]goResult, error) {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	if dir != root {
		// The benchmarks check their verdicts, which an earlier revision
		// may not give: tell them they are being compared.
		cmd.Env = append(os.Environ(), "PLIMSOLL_BENCH_BEFORE=1")
	}
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s (in %s): %w\n%s", strings.Join(args, " "), dir, err, out)
	}
	var results []goResult
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		res := goResult{name: m[1], runs: 1}
		f := strings.Fields(m[3])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				res.nsOp = v
			case "cpu-ns/op":
				res.cpuNsOp = v
			case "B/op":
				res.bytesOp = v
			case "allocs/op":
				res.allocsOp = v
			}
		}
		results = append(results, res)
	}
	if len(results) == 0 {
		return nil, fmt.Errorf("no benchmark results from %s:\n%s", strings.Join(args, " "), out)
	}
	return results, nil
}

// medianRun is the median of each figure over the runs of one benchmark.
func medianRun(rs []goResult) goResult {
	pick := func(get func(goResult) float64) float64 {
		vs := make([]float64, len(rs))
		for i, r := range rs {
			vs[i] = get(r)
		}
		return median(vs)
	}
	return goResult{
		name:     rs[0].name,
		nsOp:     pick(func(r goResult) float64 { return r.nsOp }),
		cpuNsOp:  pick(func(r goResult) float64 { return r.cpuNsOp }),
		bytesOp:  pick(func(r goResult) float64 { return r.bytesOp }),
		allocsOp: pick(func(r goResult) float64 { return r.allocsOp }),
		runs:     len(rs),
	}
}
