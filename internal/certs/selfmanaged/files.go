package selfmanaged

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// writeFiles puts the serving certificate and key in place when they
// differ from what is there; the server's certificate watcher reloads them.
func (m *Manager) writeFiles(kp *keyPair) error {
	onDiskCert, _ := os.ReadFile(m.opts.CertFile)
	onDiskKey, _ := os.ReadFile(m.opts.KeyFile)
	if !bytes.Equal(onDiskCert, kp.certPEM) || !bytes.Equal(onDiskKey, kp.keyPEM) {
		if err := writePair(m.opts.CertFile, kp.certPEM, m.opts.KeyFile, kp.keyPEM); err != nil {
			return fmt.Errorf("writing the serving certificate and key: %w", err)
		}
		m.log.Info("wrote the serving certificate", "file", m.opts.CertFile, "serial", kp.cert.SerialNumber.Text(16),
			"issuer", kp.cert.Issuer.CommonName, "not_after", kp.cert.NotAfter)
	}
	m.notAfter.Store(&kp.cert.NotAfter)
	return nil
}

// dataLink is the link that names the current data directory, as in a
// Secret volume.
const dataLink = "..data"

// writePair replaces certificate and key together. When both files live
// in one directory it does what the kubelet does for a Secret volume: the
// files are links into ..data, itself a link to a directory holding the
// pair; a new pair goes into a new directory, ..data is switched to it by
// one rename, and only then is the old directory removed — the event that
// tells a watcher of the old files to read again, so it reads the new
// pair whole (two separate renames would wake it between the two and make
// it log a key that does not match). Otherwise each file is replaced by
// its own rename, the key first.
func writePair(certFile string, certPEM []byte, keyFile string, keyPEM []byte) error {
	dir := filepath.Dir(certFile)
	if filepath.Dir(keyFile) != dir || filepath.Base(keyFile) == filepath.Base(certFile) {
		if err := writeAtomically(keyFile, keyPEM); err != nil {
			return err
		}
		return writeAtomically(certFile, certPEM)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	data, err := os.MkdirTemp(dir, dataLink+"-")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(data, filepath.Base(keyFile)), keyPEM, 0o600); err != nil {
		os.RemoveAll(data)
		return err
	}
	if err := os.WriteFile(filepath.Join(data, filepath.Base(certFile)), certPEM, 0o600); err != nil {
		os.RemoveAll(data)
		return err
	}
	old, _ := os.Readlink(filepath.Join(dir, dataLink))
	if err := replaceWithLink(filepath.Join(dir, dataLink), filepath.Base(data)); err != nil {
		os.RemoveAll(data)
		return err
	}
	for _, f := range []string{keyFile, certFile} {
		want := filepath.Join(dataLink, filepath.Base(f))
		if target, err := os.Readlink(f); err != nil || target != want {
			if err := replaceWithLink(f, want); err != nil {
				return err
			}
		}
	}
	if old != "" && old != filepath.Base(data) {
		return os.RemoveAll(filepath.Join(dir, old))
	}
	return nil
}

// replaceWithLink makes path a symbolic link to target in one rename.
func replaceWithLink(path, target string) error {
	tmp := path + ".tmp"
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// writeAtomically replaces path's content by a rename.
func writeAtomically(path string, content []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	if _, err := f.Write(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
