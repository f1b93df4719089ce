// Package trivy reads trivy-operator's VulnerabilityReports
// (aquasecurity.github.io/v1alpha1), the scan results a cluster that runs
// trivy-operator keeps beside its workloads, for the rule
// image-vulnerabilities. The types hold only the fields that rule reads,
// as trivy-operator documents them: JSON ignores the rest. They are
// written here, not imported from the trivy-operator module, whose types
// pull in the scanner itself.
package trivy

import (
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/plimsoll/plimsoll/cluster"
)

// SchemeGroupVersion is the group version of the reports.
var SchemeGroupVersion = schema.GroupVersion{Group: "aquasecurity.github.io", Version: "v1alpha1"}

// Kind and Resource name the reports, as RBAC and kubectl spell them.
const (
	Kind     = "VulnerabilityReport"
	Resource = "vulnerabilityreports"
)

// VulnerabilityReport is what trivy-operator found in one container's
// image.
type VulnerabilityReport struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Report            Report `json:"report"`
}

// Report is a VulnerabilityReport's report.
type Report struct {
	Registry        Registry        `json:"registry"`
	Artifact        Artifact        `json:"artifact"`
	Summary         Summary         `json:"summary"`
	Vulnerabilities []Vulnerability `json:"vulnerabilities,omitempty"`
}

// Registry is where the image was pulled from ("index.docker.io").
type Registry struct {
	Server string `json:"server,omitempty"`
}

// Artifact is the image scanned.
type Artifact struct {
	Repository string `json:"repository,omitempty"`
	Tag        string `json:"tag,omitempty"`
	Digest     string `json:"digest,omitempty"`
}

// Summary counts the vulnerabilities by severity.
type Summary struct {
	CriticalCount int `json:"criticalCount"`
	HighCount     int `json:"highCount"`
	MediumCount   int `json:"mediumCount"`
	LowCount      int `json:"lowCount"`
	UnknownCount  int `json:"unknownCount"`
}

// Vulnerability is one vulnerability found.
type Vulnerability struct {
	VulnerabilityID string `json:"vulnerabilityID"`
	Severity        string `json:"severity"`
}

// VulnerabilityReportList is a list of reports.
type VulnerabilityReportList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VulnerabilityReport `json:"items"`
}

// DeepCopyObject copies r.
func (r *VulnerabilityReport) DeepCopyObject() runtime.Object {
	if r == nil {
		return nil
	}
	return r.deepCopy()
}

func (r *VulnerabilityReport) deepCopy() *VulnerabilityReport {
	out := *r
	r.DeepCopyInto(&out.ObjectMeta)
	out.Report.Vulnerabilities = slices.Clone(r.Report.Vulnerabilities)
	return &out
}

// DeepCopyObject copies l.
func (l *VulnerabilityReportList) DeepCopyObject() runtime.Object {
	if l == nil {
		return nil
	}
	out := *l
	l.DeepCopyInto(&out.ListMeta)
	out.Items = make([]VulnerabilityReport, len(l.Items))
	for i := range l.Items {
		out.Items[i] = *l.Items[i].deepCopy()
	}
	return &out
}

// AddToScheme registers the report types in s.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(SchemeGroupVersion, &VulnerabilityReport{}, &VulnerabilityReportList{})
	metav1.AddToGroupVersion(s, SchemeGroupVersion)
	return nil
}

// ImageScan is the report as the rule image-vulnerabilities reads it
// (cluster.Objects takes a report through it).
func (r *VulnerabilityReport) ImageScan() cluster.ImageScan {
	s := cluster.ImageScan{
		Namespace:  r.Namespace,
		Name:       r.Name,
		Registry:   r.Report.Registry.Server,
		Repository: r.Report.Artifact.Repository,
		Tag:        r.Report.Artifact.Tag,
		Digest:     r.Report.Artifact.Digest,
	}
	sum := r.Report.Summary
	s.Counts = [5]int{sum.CriticalCount, sum.HighCount, sum.MediumCount, sum.LowCount, sum.UnknownCount}
	s.Worst = Worst(r.Report.Vulnerabilities)
	return s
}

// Worst returns the cluster.MaxWorst worst of vs, by severity then ID,
// each ID once.
func Worst(vs []Vulnerability) []cluster.Vulnerability {
	out := make([]cluster.Vulnerability, 0, min(len(vs), cluster.MaxWorst))
	sorted := slices.Clone(vs)
	slices.SortStableFunc(sorted, func(a, b Vulnerability) int {
		ra, rb := rank(a.Severity), rank(b.Severity)
		if ra != rb {
			return ra - rb
		}
		return strings.Compare(a.VulnerabilityID, b.VulnerabilityID)
	})
	for _, v := range sorted {
		if len(out) == cluster.MaxWorst {
			break
		}
		if v.VulnerabilityID == "" || slices.ContainsFunc(out, func(w cluster.Vulnerability) bool { return w.ID == v.VulnerabilityID }) {
			continue
		}
		out = append(out, cluster.Vulnerability{ID: v.VulnerabilityID, Severity: strings.ToUpper(v.Severity)})
	}
	return out
}

// rank orders severities worst first, with what no scanner writes last.
func rank(severity string) int {
	if r := cluster.SeverityRank(severity); r >= 0 {
		return r
	}
	return len(cluster.Severities)
}

// Strip is the informers' transform: it keeps of a report its name,
// namespace, UID and resourceVersion, the image, the counts and the
// cluster.MaxWorst worst vulnerabilities (a report of an old image lists
// hundreds). What is not a report it returns as is.
func Strip(obj any) (any, error) {
	r, ok := obj.(*VulnerabilityReport)
	if !ok {
		return obj, nil
	}
	out := &VulnerabilityReport{
		TypeMeta:   r.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: r.Name, Namespace: r.Namespace, UID: r.UID, ResourceVersion: r.ResourceVersion},
		Report: Report{
			Registry: r.Report.Registry, Artifact: r.Report.Artifact, Summary: r.Report.Summary,
		},
	}
	for _, w := range Worst(r.Report.Vulnerabilities) {
		out.Report.Vulnerabilities = append(out.Report.Vulnerabilities, Vulnerability{VulnerabilityID: w.ID, Severity: w.Severity})
	}
	return out, nil
}

// KeyIndex is the name of the informers' index by cluster.ImageScan.Keys.
const KeyIndex = "image"

// IndexByImage is the index function of KeyIndex.
func IndexByImage(obj any) ([]string, error) {
	r, ok := obj.(*VulnerabilityReport)
	if !ok {
		return nil, nil
	}
	a := r.Report.Artifact
	return cluster.ImageScan{Registry: r.Report.Registry.Server, Repository: a.Repository, Tag: a.Tag, Digest: a.Digest}.Keys(), nil
}
