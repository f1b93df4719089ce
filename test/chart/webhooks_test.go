package chart

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTheDefaultWebhooksComeFromConfigAsFromHelm: with the chart's
// defaults Webhooks reads config/overlays/default (so the demo needs no
// Helm); its entries must be what Helm renders.
func TestTheDefaultWebhooksComeFromConfigAsFromHelm(t *testing.T) {
	cc := URLClientConfig("127.0.0.1:9443", []byte("ca"))
	fromConfig, fromConfigV, err := Webhooks(WebhookValues{FromConfig: true}, cc)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Template(Release, DefaultNamespace)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	fromHelm, fromHelmV, err := PointWebhooksAt(objs, cc)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fromHelm.Webhooks, fromConfig.Webhooks); diff != "" {
		t.Errorf("mutating webhooks (-helm +config):\n%s", diff)
	}
	if diff := cmp.Diff(fromHelmV.Webhooks, fromConfigV.Webhooks); diff != "" {
		t.Errorf("validating webhooks (-helm +config):\n%s", diff)
	}
}
