package pipeline_test

import (
	"testing"

	"github.com/plimsoll/plimsoll/pipeline"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/test/bench/fixtures"
	"github.com/plimsoll/plimsoll/validate"
)

// BenchmarkPipeline runs the validating pipeline — decode, find the pod
// template, default a copy, check every rule — over each fixture, with the
// built-in policy and the whole catalogue. `make bench` reports it.
func BenchmarkPipeline(b *testing.B) {
	rules := validate.Registry()
	p := policy.Default()
	for _, f := range fixtures.All() {
		b.Run(f.Name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(f.JSON)))
			cpu := fixtures.ProcessCPU()
			for b.Loop() {
				obj, err := pipeline.Decode(f.JSON, f.GVK)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := pipeline.Evaluate(rules, p, pipeline.Request{Object: obj, Operation: pipeline.Create, Namespace: "bench"}); err != nil {
					b.Fatal(err)
				}
			}
			fixtures.ReportCPU(b, cpu)
		})
	}
}
