// Command genconfig renders config/, the kustomize install, from the chart
// with the helm CLI in bin/ (see chart.GenerateConfig): run by `make
// generate` after a change to charts/plimsoll. test/chart fails while
// config/ is stale.
package main

import (
	"fmt"
	"os"

	"github.com/plimsoll/plimsoll/test/chart"
)

func main() {
	root, err := chart.RepoRoot()
	if err == nil {
		var changed []string
		changed, err = chart.WriteConfig(root)
		for _, c := range changed {
			fmt.Println(c)
		}
		if len(changed) == 0 && err == nil {
			fmt.Println("config/ is current")
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genconfig:", err)
		os.Exit(1)
	}
}
