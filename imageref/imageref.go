// Package imageref reads container image references as container
// runtimes resolve them: the name, tag and digest of "nginx:1.27", and
// the registry and repository it is pulled from ("docker.io",
// "library/nginx"). The rules about registries, tags and digests and the
// matching of scan reports to images all read images through it, so that
// no two of them can disagree on which image a reference names. Pure: no
// I/O, no registry is asked.
package imageref

import "strings"

// DockerHub is where an image without a registry host is pulled from.
const DockerHub = "docker.io"

// Parse splits an image reference into its name, tag and digest:
// "registry:5000/team/app:1.2@sha256:ab" gives "registry:5000/team/app",
// "1.2", "sha256:ab". A colon before the last slash belongs to the
// registry's port, not to a tag.
func Parse(image string) (name, tag, digest string) {
	name = image
	if i := strings.Index(name, "@"); i >= 0 {
		name, digest = name[:i], name[i+1:]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	return name, tag, digest
}

// Repository returns the registry host an image is pulled from and the
// repository within it: "nginx:1.27" gives "docker.io", "library/nginx";
// "acme/app" gives "docker.io", "acme/app";
// "registry.local:5000/team/app:1.2" gives "registry.local:5000",
// "team/app". The first path component is a host when it has a dot or a
// port, is localhost, or has upper-case letters (which repositories
// cannot). The host is written as Normalize writes it.
func Repository(image string) (registry, repository string) {
	name, _, _ := Parse(image)
	host, rest, found := strings.Cut(name, "/")
	if !found || (!strings.ContainsAny(host, ".:") && host != "localhost" && strings.ToLower(host) == host) {
		host, rest = "", name
	}
	return Normalize(host, rest)
}

// Normalize writes a registry host and a repository in one spelling:
// the host in lower case, Docker Hub's other names (none,
// index.docker.io, registry-1.docker.io) as docker.io, and a one-part
// Docker Hub repository under library/.
func Normalize(registry, repository string) (string, string) {
	registry = Registry(registry)
	if registry == DockerHub && !strings.Contains(repository, "/") {
		repository = "library/" + repository
	}
	return registry, repository
}

// Registry writes a registry host as Normalize does.
func Registry(host string) string {
	host = strings.ToLower(host)
	switch host {
	case "", "index.docker.io", "registry-1.docker.io":
		return DockerHub
	}
	return host
}
