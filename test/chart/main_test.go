package chart

import (
	"fmt"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	for _, major := range HelmMajors {
		if _, err := HelmBinOf(major); err != nil {
			fmt.Fprintln(os.Stderr, "test/chart:", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// render renders the chart and decodes it strictly, failing the test on
// any error.
func render(t *testing.T, release, namespace string, flags ...string) []Object {
	t.Helper()
	out, err := Template(release, namespace, flags...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Decode(out)
	if err != nil {
		t.Fatalf("helm template %v: %v", flags, err)
	}
	return objs
}

func ptr[T any](v T) *T { return &v }
