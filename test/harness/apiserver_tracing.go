package harness

import (
	"fmt"
	"os"
	"path/filepath"
)

// APIServerTracing writes a kube-apiserver TracingConfiguration into dir
// and returns the flags that load it, for Options.APIServerArgs. The API
// server then samples every request, exports its own spans over OTLP/gRPC
// (plain text) to endpoint (host:port; nothing need listen there, failed
// exports are only logged), and sends a W3C traceparent on every webhook
// call: what a test needs to see plimsoll join the API server's traces.
func APIServerTracing(dir, endpoint string) (map[string]string, error) {
	path := filepath.Join(dir, "apiserver-tracing.yaml")
	config := fmt.Sprintf(`apiVersion: apiserver.config.k8s.io/v1
kind: TracingConfiguration
endpoint: %q
samplingRatePerMillion: 1000000
`, endpoint)
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		return nil, err
	}
	return map[string]string{"tracing-config-file": path}, nil
}
