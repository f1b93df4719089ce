package audit

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// PolicyReport is the wgpolicyk8s.io/v1alpha2 API that Policy Reporter,
// Kyverno's UI and other tools display. plimsoll writes one per audited
// namespace, named ReportName, as an unstructured object: no typed client
// and no dependency on a policy engine's module.
var PolicyReportGVR = schema.GroupVersionResource{Group: "wgpolicyk8s.io", Version: "v1alpha2", Resource: "policyreports"}

const (
	// ReportName is the name of plimsoll's PolicyReport in each namespace.
	ReportName = "plimsoll"
	// ManagedByLabel marks the reports plimsoll owns: it deletes only
	// those.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	managedBy      = "plimsoll"
	// OmittedAnnotation says how many results were left out of a report
	// to keep it under maxReportBytes.
	OmittedAnnotation = "plimsoll.dev/results-omitted"
	// Policy is the policy name every result carries.
	Policy = "plimsoll"
)

// maxReportBytes bounds the serialized results of one report, well under
// etcd's 1.5 MiB object limit. Beyond it the least useful results go
// first: passes, then exempted ones, then warnings.
var maxReportBytes = 1 << 20

// Results of a PolicyReport.
const (
	resultPass = "pass"
	resultFail = "fail"
	resultWarn = "warn"
	resultSkip = "skip"
)

// reportResult is one entry of results[] (wgpolicyk8s.io/v1alpha2
// PolicyReportResult).
type reportResult struct {
	Source     string            `json:"source"`
	Policy     string            `json:"policy"`
	Rule       string            `json:"rule,omitempty"`
	Category   string            `json:"category,omitempty"`
	Severity   string            `json:"severity,omitempty"`
	Result     string            `json:"result"`
	Scored     bool              `json:"scored"`
	Message    string            `json:"message"`
	Properties map[string]string `json:"properties,omitempty"`
	Resources  []reportRef       `json:"resources"`
	Timestamp  reportTime        `json:"timestamp"`
}

type reportRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	UID        string `json:"uid,omitempty"`
}

type reportTime struct {
	Seconds int64 `json:"seconds"`
	Nanos   int32 `json:"nanos"`
}

type reportSummary struct {
	Pass  int64 `json:"pass"`
	Fail  int64 `json:"fail"`
	Warn  int64 `json:"warn"`
	Error int64 `json:"error"`
	Skip  int64 `json:"skip"`
}

// judged is an object with when it was judged (the results' timestamp).
type judged struct {
	*Object
	at time.Time
}

// reportResults turns judged objects into report results: a finding
// enforce would deny is "fail" (severity high); a warning "warn"
// (medium); what defaulting fixes "pass" (the Pods will comply), with
// the property defaulted=true; an exempted finding "skip"; an object with
// no finding one "pass" without a rule.
func reportResults(objs []judged, categories map[string]string) []reportResult {
	var out []reportResult
	for _, ob := range objs {
		ref := []reportRef{{APIVersion: ob.APIVersion, Kind: ob.Kind, Namespace: ob.Namespace, Name: ob.Name, UID: string(ob.UID)}}
		if ob.Kind == "Namespace" {
			ref[0].Namespace = "" // cluster-scoped: the report's namespace is the object
		}
		ts := reportTime{Seconds: ob.at.Unix()}
		if len(ob.Findings) == 0 {
			out = append(out, reportResult{Source: managedBy, Policy: Policy, Result: resultPass, Scored: true,
				Message: fmt.Sprintf("%s %q passes every rule", ob.Kind, ob.Name), Resources: ref, Timestamp: ts})
			continue
		}
		for _, f := range ob.Findings {
			r := reportResult{Source: managedBy, Policy: Policy, Rule: f.Rule, Category: categories[f.Rule],
				Severity: "medium", Scored: true, Message: f.Message, Resources: ref, Timestamp: ts,
				Properties: map[string]string{"path": f.Path}}
			if !strings.HasSuffix(f.Message, f.Remediation) {
				r.Properties["fix"] = f.Remediation // the message ends with it otherwise
			}
			if f.Severity == "error" {
				r.Severity = "high"
			}
			if f.Container != "" {
				r.Properties["container"] = f.Container
			}
			switch f.Verdict() {
			case Denied:
				r.Result = resultFail
			case Warned:
				r.Result = resultWarn
			case Defaulted:
				r.Result = resultPass
				r.Properties["defaulted"] = "true"
				r.Message = "will be defaulted: " + f.Message
			case Exempted:
				r.Result = resultSkip
				r.Properties["exemption"] = f.Exemption
			}
			out = append(out, r)
		}
	}
	return out
}

// trimResults keeps the results under maxReportBytes, dropping as few as
// it must: passes first, then skips, then warnings, then failures, each
// from the end; it returns what it kept and how many it dropped. Each
// result is measured once.
func trimResults(rs []reportResult) ([]reportResult, int) {
	sizes := make([]int, len(rs))
	total := 2 // []
	for i, r := range rs {
		b, _ := json.Marshal(r)
		sizes[i] = len(b) + 1 // and a comma
		total += sizes[i]
	}
	if total <= maxReportBytes {
		return rs, 0
	}
	keep := make([]bool, len(rs))
	for i := range keep {
		keep[i] = true
	}
	for _, drop := range []string{resultPass, resultSkip, resultWarn, resultFail} {
		for i := len(rs) - 1; i >= 0 && total > maxReportBytes; i-- {
			if keep[i] && rs[i].Result == drop {
				keep[i] = false
				total -= sizes[i]
			}
		}
	}
	var kept []reportResult
	for i, r := range rs {
		if keep[i] {
			kept = append(kept, r)
		}
	}
	return kept, len(rs) - len(kept)
}

func summarize(rs []reportResult) reportSummary {
	var s reportSummary
	for _, r := range rs {
		switch r.Result {
		case resultPass:
			s.Pass++
		case resultFail:
			s.Fail++
		case resultWarn:
			s.Warn++
		case resultSkip:
			s.Skip++
		}
	}
	return s
}

// newPolicyReport builds the report of namespace ns.
func newPolicyReport(ns string, objs []judged, categories map[string]string) (*unstructured.Unstructured, error) {
	rs, omitted := trimResults(reportResults(objs, categories))
	if rs == nil {
		rs = []reportResult{}
	}
	body := struct {
		metav1.TypeMeta   `json:",inline"`
		metav1.ObjectMeta `json:"metadata"`
		Results           []reportResult `json:"results"`
		Summary           reportSummary  `json:"summary"`
	}{
		TypeMeta:   metav1.TypeMeta{APIVersion: PolicyReportGVR.GroupVersion().String(), Kind: "PolicyReport"},
		ObjectMeta: metav1.ObjectMeta{Name: ReportName, Namespace: ns, Labels: map[string]string{ManagedByLabel: managedBy}},
		Results:    rs,
		Summary:    summarize(rs),
	}
	if omitted > 0 {
		body.Annotations = map[string]string{OmittedAnnotation: strconv.Itoa(omitted)}
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&body)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	return u, nil
}

// sameReport reports whether the stored report already says what want
// says (so nothing is written).
func sameReport(have, want *unstructured.Unstructured) bool {
	return equality.Semantic.DeepEqual(have.Object["results"], want.Object["results"]) &&
		equality.Semantic.DeepEqual(have.Object["summary"], want.Object["summary"]) &&
		have.GetAnnotations()[OmittedAnnotation] == want.GetAnnotations()[OmittedAnnotation] &&
		have.GetLabels()[ManagedByLabel] == managedBy
}

// reportMemo is what a report says, for comparing with the last one written.
func reportMemo(u *unstructured.Unstructured) string {
	b, _ := json.Marshal([]any{u.Object["results"], u.Object["summary"], u.GetAnnotations()})
	return string(b)
}
