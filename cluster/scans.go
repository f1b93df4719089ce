package cluster

import (
	"slices"
	"strings"
)

// ScanKind is the kind of the objects ImageScans come from, as View.Keeps
// names it: trivy-operator's VulnerabilityReport.
const ScanKind = "VulnerabilityReport"

// Severities are a scanner's severities, worst first, as trivy writes
// them.
var Severities = []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"}

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
		registry, repository := normalRepository(s.Registry, s.Repository)
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
	name, tag, digest := ParseImage(image)
	if digest != "" {
		return "digest:" + digest
	}
	if tag == "" {
		tag = "latest"
	}
	host, rest, found := strings.Cut(name, "/")
	if !found || (!strings.ContainsAny(host, ".:") && host != "localhost" && strings.ToLower(host) == host) {
		host, rest = "", name
	}
	registry, repository := normalRepository(host, rest)
	return "tag:" + registry + "/" + repository + ":" + tag
}

// normalRepository writes a registry and repository as container
// runtimes resolve them: no registry (or index.docker.io, Docker Hub's
// old name that trivy writes) is docker.io, where a one-part repository
// is under library/.
func normalRepository(registry, repository string) (string, string) {
	registry = strings.ToLower(registry)
	switch registry {
	case "", "index.docker.io", "registry-1.docker.io":
		registry = "docker.io"
	}
	if registry == "docker.io" && !strings.Contains(repository, "/") {
		repository = "library/" + repository
	}
	return registry, repository
}

// ParseImage splits an image reference into its name, tag and digest:
// "registry:5000/team/app:1.2@sha256:ab" gives "registry:5000/team/app",
// "1.2", "sha256:ab". A colon before the last slash belongs to the
// registry's port, not to a tag.
func ParseImage(image string) (name, tag, digest string) {
	name = image
	if i := strings.Index(name, "@"); i >= 0 {
		name, digest = name[:i], name[i+1:]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	return name, tag, digest
}
