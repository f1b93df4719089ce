package validate

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/internal/trivy"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

func TestImageVulnerabilitiesMessages(t *testing.T) {
	expectMessages(t, "image-vulnerabilities", []messageCase{
		{name: "by tag", file: "fail/critical-by-tag.yaml", want: []string{
			`[image-vulnerabilities] Deployment "web": container "web" runs image "nginx:1.25.0", in which trivy-operator found 2 vulnerabilities of severity CRITICAL or worse: CVE-2023-38545, CVE-2023-4911 (VulnerabilityReport "replicaset-web-6d4cf56db6-web") (spec.template.spec.containers[0].image): rebuild the image on patched packages, or use a release that fixes them`,
		}},
		{name: "by digest", file: "fail/critical-by-digest.yaml", want: []string{
			`[image-vulnerabilities] Pod "api": init container "migrate" runs image "ghcr.io/acme/api@sha256:4b1c0d2f3e4a5b6c7d8e9f00112233445566778899aabbccddeeff0011223344", in which trivy-operator found 1 vulnerability of severity CRITICAL or worse: CVE-2024-3094 (VulnerabilityReport "pod-api-api") (spec.initContainers[0].image): rebuild the image on patched packages, or use a release that fixes them`,
		}},
	})
}

func report(ns, name, registry, repo, tag, digest string, critical, high int, ids ...string) *trivy.VulnerabilityReport {
	r := &trivy.VulnerabilityReport{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	r.Report.Registry.Server = registry
	r.Report.Artifact = trivy.Artifact{Repository: repo, Tag: tag, Digest: digest}
	r.Report.Summary = trivy.Summary{CriticalCount: critical, HighCount: high}
	for i, id := range ids {
		sev := "HIGH"
		if i < critical {
			sev = "CRITICAL"
		}
		r.Report.Vulnerabilities = append(r.Report.Vulnerabilities, trivy.Vulnerability{VulnerabilityID: id, Severity: sev})
	}
	return r
}

func imagePod(image string) *workload.Template {
	t, err := workload.Find(&corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "tenant", Namespace: fixtureNamespace},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
	})
	if err != nil {
		panic(err)
	}
	return t
}

// TestImageVulnerabilitiesMatching: which reports speak of which image,
// the threshold, and the ways a tenant might hide a bad image.
func TestImageVulnerabilitiesMatching(t *testing.T) {
	const digest = "sha256:4b1c0d2f3e4a5b6c7d8e9f00112233445566778899aabbccddeeff0011223344"
	bad := report(fixtureNamespace, "bad", "index.docker.io", "library/nginx", "1.25.0", digest, 2, 1, "CVE-1", "CVE-2", "CVE-3")
	clean := report(fixtureNamespace, "clean", "index.docker.io", "library/nginx", "1.25.0", "", 0, 0)
	elsewhere := report("team-b", "theirs", "index.docker.io", "library/nginx", "1.25.0", "", 1, 0, "CVE-9")
	high := policy.Default()
	high.ImageVulnerabilities = policy.VulnerabilitySettings{Severity: "high", Count: 3}
	many := policy.Default()
	many.ImageVulnerabilities.Count = 3
	cases := []struct {
		name    string
		image   string
		reports []*trivy.VulnerabilityReport
		p       *policy.Policy
		want    string // "" no finding; else what the problem must hold
	}{
		{"short name, Docker Hub as trivy writes it", "nginx:1.25.0", []*trivy.VulnerabilityReport{bad}, policy.Default(), `found 2 vulnerabilities of severity CRITICAL or worse: CVE-1, CVE-2 (VulnerabilityReport "bad")`},
		{"full name", "docker.io/library/nginx:1.25.0", []*trivy.VulnerabilityReport{bad}, policy.Default(), "found 2"},
		{"index.docker.io", "index.docker.io/library/nginx:1.25.0", []*trivy.VulnerabilityReport{bad}, policy.Default(), "found 2"},
		{"another tag", "nginx:1.25.1", []*trivy.VulnerabilityReport{bad}, policy.Default(), ""},
		{"another repository", "ghcr.io/library/nginx:1.25.0", []*trivy.VulnerabilityReport{bad}, policy.Default(), ""},
		{"pinned by the digest, under another name and tag", "registry.local/mirror/nginx:stable@" + digest, []*trivy.VulnerabilityReport{bad}, policy.Default(), "found 2"},
		{"pinned by another digest, same tag: the digest decides", "nginx:1.25.0@sha256:0000000000000000000000000000000000000000000000000000000000000000", []*trivy.VulnerabilityReport{bad}, policy.Default(), ""},
		{"a clean report does not hide a bad one", "nginx:1.25.0", []*trivy.VulnerabilityReport{clean, bad}, policy.Default(), "found 2"},
		{"a report of another namespace counts, unnamed", "nginx:1.25.0", []*trivy.VulnerabilityReport{elsewhere}, policy.Default(), "found 1 vulnerability of severity CRITICAL or worse: CVE-9 (a VulnerabilityReport in another namespace)"},
		{"threshold HIGH, count 3: 2 critical + 1 high", "nginx:1.25.0", []*trivy.VulnerabilityReport{bad}, high, "found 3 vulnerabilities of severity HIGH or worse: CVE-1, CVE-2, CVE-3 ("},
		{"count 3 at CRITICAL: not reached", "nginx:1.25.0", []*trivy.VulnerabilityReport{bad}, many, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := viewOf(t)
			for _, r := range tc.reports {
				v.Add(r, r.Namespace)
			}
			got := imageVulnerabilities.findings(imagePod(tc.image), v, fixtureNamespace, tc.p)
			if tc.want == "" {
				if len(got) != 0 {
					t.Fatalf("findings: %+v", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[0].Problem, tc.want) {
				t.Fatalf("want one finding holding %q, got %+v", tc.want, got)
			}
		})
	}
}

// TestImageVulnerabilitiesSaysNothingWithoutReports: where no scanner
// stores reports (none in a check run, the custom resource not served),
// an image is not judged.
func TestImageVulnerabilitiesSaysNothingWithoutReports(t *testing.T) {
	if got := imageVulnerabilities.findings(imagePod("nginx:1.25.0"), viewOf(t), fixtureNamespace, policy.Default()); len(got) != 0 {
		t.Errorf("judged without reports: %+v", got)
	}
}
