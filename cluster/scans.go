package cluster

import (
	"slices"
	"strings"

	"github.com/plimsoll/plimsoll/imageref"
	"github.com/plimsoll/plimsoll/policy"
)

// ScanKind is the kind of the objects ImageScans come from, as View.Keeps
// names it: trivy-operator's VulnerabilityReport.
const ScanKind = "VulnerabilityReport"

// Severities are a scanner's severities, worst first, as trivy writes
// them (the policy's imageVulnerabilities.severity is one of them).
var Severities = policy.VulnerabilitySeverities

// SeverityRank is the place of severity in Severities (0 is the worst),
// or -1 for a severity no scanner writes.
func SeverityRank(severity string) int {
	return slices.Index(Severities, strings.ToUpper(severity))
}

// Vulnerability is one known vulnerability of an image.
type Vulnerability struct {
	ID       string // CVE-2024-3094, GHSA-...
	Severity string // one of Severities
}

// ImageScan is what a scanner reported about one image: a trivy-operator
// VulnerabilityReport, reduced to what the rule image-vulnerabilities
// reads.
type ImageScan struct {
	// Namespace and Name are the report's.
	Namespace, Name string
	// Registry ("docker.io"), Repository ("library/nginx"), Tag and
	// Digest ("sha256:…") are the image the report is about.
	Registry, Repository, Tag, Digest string
	// Counts are how many vulnerabilities of each severity, by the index
	// of the severity in Severities.
	Counts [5]int
	// Worst are some of its vulnerabilities, worst first (at most
	// MaxWorst): enough to name in a message.
	Worst []Vulnerability
}

// MaxWorst is how many vulnerabilities an ImageScan keeps by name.
const MaxWorst = 5

// AtOrAbove counts the vulnerabilities of s whose severity is severity
// or worse.
func (s ImageScan) AtOrAbove(severity string) int {
	rank := SeverityRank(severity)
	n := 0
	for i := 0; i <= rank && i < len(s.Counts); i++ {
		n += s.Counts[i]
	}
	return n
}

// Keys are the keys by which s is found: its digest, and its repository
// and tag. ScanKeys of a container's image returns one of them when the
// image is s's.
func (s ImageScan) Keys() []string {
	var keys []string
	if s.Digest != "" {
		keys = append(keys, "digest:"+s.Digest)
	}
	if s.Repository != "" {
		registry, repository := imageref.Normalize(s.Registry, s.Repository)
		tag := s.Tag
		if tag == "" {
			tag = "latest"
		}
		keys = append(keys, "tag:"+registry+"/"+repository+":"+tag)
	}
	return keys
}

// ScanKey returns the key under which the scans of image are found: its
// digest when it is pinned by one (the digest names the content, whatever
// the tag says), else its registry, repository and tag ("latest" when it
// has none).
func ScanKey(image string) string {
	_, tag, digest := imageref.Parse(image)
	if digest != "" {
		return "digest:" + digest
	}
	if tag == "" {
		tag = "latest"
	}
	registry, repository := imageref.Repository(image)
	return "tag:" + registry + "/" + repository + ":" + tag
}
