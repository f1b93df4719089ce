package pipeline_test

import (
	"os"
	"testing"

	"github.com/plimsoll/plimsoll/internal/fixtures"
	"github.com/plimsoll/plimsoll/pipeline"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
)

// benchVerdict is what the pipeline finds in a fixture under the built-in
// policy: how many violations, and how many of them enforce denies.
type benchVerdict struct{ violations, denies int }

// benchVerdicts are the pipeline's verdicts on a CREATE of each fixture. A
// bare Pod CREATE (not defaulted by the mutating webhook) is judged as it
// arrives: its 11 violations per container, 7 of them enforced. A
// workload's Pods will be defaulted, so what defaulting fixes is never
// denied. A pipeline that failed early would look faster: each benchmark
// checks its verdict before it measures.
var benchVerdicts = map[string]benchVerdict{
	fixtures.BarePod:       {11, 7},
	fixtures.CompliantPod:  {0, 0},
	fixtures.CompliantSent: {0, 0},
	fixtures.Deployment:    {27, 0},
	fixtures.CronJob:       {9, 0},
	fixtures.Pod50:         {50 * 11, 50 * 7},
	fixtures.Pod3000:       {3000 * 11, 3000 * 7},
	fixtures.Pod30000:      {30000 * 11, 30000 * 7},
}

// BenchmarkPipeline runs the validating pipeline — decode, find the pod
// template, default a copy, check every rule — over each fixture, with the
// built-in policy and the whole catalogue, after checking the verdict
// (benchVerdicts). `make bench` reports it.
func BenchmarkPipeline(b *testing.B) {
	rules := validate.Registry()
	p := policy.Default()
	for _, f := range fixtures.All() {
		want, ok := benchVerdicts[f.Name]
		if !ok {
			b.Fatalf("no expected verdict for fixture %s: add it to benchVerdicts", f.Name)
		}
		b.Run(f.Name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(f.JSON)))
			evaluate := func() *pipeline.Result {
				obj, err := pipeline.Decode(f.JSON, f.GVK)
				if err != nil {
					b.Fatal(err)
				}
				r, err := pipeline.Evaluate(rules, p, pipeline.Request{Object: obj, Operation: pipeline.Create, Namespace: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				return r
			}
			r := evaluate()
			got := benchVerdict{violations: len(r.Violations)}
			for _, v := range r.Violations {
				if v.Denies() {
					got.denies++
				}
			}
			if got != want && !comparingBefore() {
				b.Fatalf("%d violations, %d of them denied; want %d, %d", got.violations, got.denies, want.violations, want.denies)
			}
			cpu := fixtures.ProcessCPU()
			for b.Loop() {
				evaluate()
			}
			fixtures.ReportCPU(b, cpu)
		})
	}
}

// comparingBefore reports whether `make bench` runs this benchmark on an
// earlier revision (BENCH_BEFORE) to compare costs: that revision may judge
// differently — a change of verdict is what the comparison prices — so the
// verdict is not held against it there.
func comparingBefore() bool { return os.Getenv("PLIMSOLL_BENCH_BEFORE") != "" }
