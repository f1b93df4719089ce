package validate

// image-vulnerabilities: no container runs an image in which the
// cluster's scanner found vulnerabilities at or above the policy's
// threshold (imageVulnerabilities: severity CRITICAL and count 1 unless
// set). Read from the cluster: trivy-operator's VulnerabilityReports
// (aquasecurity.github.io/v1alpha1), matched by the image's digest when
// it is pinned by one, else by its registry, repository and tag, in every
// namespace (a report made for one workload speaks for every Pod that
// runs the same image). Where several reports speak of an image, the
// worst counts: a report that finds less cannot hide one that finds more.
// Where no scanner stores reports (the custom resource is not served, or
// a check run was given none), the rule judges nothing; an image no
// report speaks of passes: a scan that has not run yet is no finding.

import (
	"fmt"
	"strings"

	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// shownVulnerabilities is how many vulnerability IDs a message names.
const shownVulnerabilities = 3

var imageVulnerabilities = &Rule{
	ID:          "image-vulnerabilities",
	Category:    "images",
	Severity:    policy.Warning,
	Description: "No container runs an image in which the cluster's scanner (trivy-operator's VulnerabilityReports) found vulnerabilities at or above the policy's threshold (CRITICAL unless set).",
	Remediation: "Rebuild the image on patched packages, or move to a release that fixes the vulnerabilities the report lists; the scanner reports the new image when it runs.",
	Defaulted:   "no",
	InContext: func(t *workload.Template, a Around, p *policy.Policy) []Finding {
		if !a.Keeps(cluster.ScanKind) {
			return nil
		}
		severity, count := p.ImageVulnerabilities.Threshold()
		var out []Finding
		for _, c := range t.Containers() {
			if c.Image == "" {
				continue
			}
			worst, n := worstScan(a.ImageScans(c.Image), severity, a.Namespace)
			if n < count {
				continue
			}
			where := fmt.Sprintf("VulnerabilityReport %q", worst.Name)
			if worst.Namespace != a.Namespace {
				where = "a VulnerabilityReport in another namespace" // whose workloads are not this tenant's business
			}
			out = append(out, Finding{
				Container:     c.Name,
				ContainerType: c.Type,
				Path:          workload.Under(c.Path, "image"),
				Problem: fmt.Sprintf("runs image %q, in which trivy-operator found %s of severity %s or worse%s (%s)",
					c.Image, plural(n, "vulnerability", "vulnerabilities"), severity, named(worst, severity, n), where),
				Fix: "rebuild the image on patched packages, or use a release that fixes them",
			})
		}
		return out
	},
}

// worstScan returns the scan of scans that counts the most
// vulnerabilities of severity or worse, and that count; among equals, one
// of namespace ns first, then the first by namespace and name.
func worstScan(scans []cluster.ImageScan, severity, ns string) (cluster.ImageScan, int) {
	var worst cluster.ImageScan
	n := -1
	for _, s := range scans {
		m := s.AtOrAbove(severity)
		if m > n || (m == n && s.Namespace == ns && worst.Namespace != ns) {
			worst, n = s, m
		}
	}
	return worst, n
}

// named lists, as ": CVE-1, CVE-2, …", the vulnerabilities of s of
// severity or worse that it names, of n in all.
func named(s cluster.ImageScan, severity string, n int) string {
	rank := cluster.SeverityRank(severity)
	var ids []string
	for _, v := range s.Worst {
		if r := cluster.SeverityRank(v.Severity); r >= 0 && r <= rank && len(ids) < shownVulnerabilities {
			ids = append(ids, v.ID)
		}
	}
	if len(ids) == 0 {
		return ""
	}
	more := ""
	if n > len(ids) {
		more = ", …"
	}
	return ": " + strings.Join(ids, ", ") + more
}

// plural writes n with the noun's singular or plural.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
