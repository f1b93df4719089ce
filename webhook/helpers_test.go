package webhook_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/admission"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/mutate"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
	"github.com/plimsoll/plimsoll/webhook"
	"github.com/plimsoll/plimsoll/workload"
)

// ---- a Recorder that remembers what it was told ----

type requestCall struct {
	Endpoint  string
	Mode      admission.Mode
	Kind      string
	Operation string
	Decision  string
}

type violationCall struct {
	Rule     string
	Severity string
	Mode     admission.Mode
}

type defaultedCall struct {
	Family string
	Mode   admission.Mode
}

// fakeRecorder implements webhook.Recorder by remembering every call, so
// tests can assert metrics without a Prometheus registry.
type fakeRecorder struct {
	mu         sync.Mutex
	requests   []requestCall
	violations []violationCall
	defaulted  []defaultedCall
	internal   []string
	reloads    []bool
	exemptions []string // rule/source
	skipped    []string // reasons
}

var _ webhook.Recorder = (*fakeRecorder)(nil)

func (r *fakeRecorder) Request(endpoint string, mode admission.Mode, kind, operation, decision string, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if took < 0 {
		panic("negative latency")
	}
	r.requests = append(r.requests, requestCall{endpoint, mode, kind, operation, decision})
}

func (r *fakeRecorder) Violation(rule, severity string, mode admission.Mode) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.violations = append(r.violations, violationCall{rule, severity, mode})
}

func (r *fakeRecorder) Defaulted(family string, mode admission.Mode) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.defaulted = append(r.defaulted, defaultedCall{family, mode})
}

func (r *fakeRecorder) Exemption(rule, source string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exemptions = append(r.exemptions, rule+"/"+source)
}

func (r *fakeRecorder) InternalError(path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.internal = append(r.internal, path)
}

func (r *fakeRecorder) ContextSkipped(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.skipped = append(r.skipped, reason)
}

func (r *fakeRecorder) PolicyReload(ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reloads = append(r.reloads, ok)
}

// ---- a JSON logger writing into a buffer ----

// logBuffer is a bytes.Buffer safe for the concurrent writes of a server.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

func newLogger(buf *logBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// lines decodes every JSON line written so far.
func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, sc.Text())
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// withMsg returns the lines whose msg is one of msgs.
func withMsg(lines []map[string]any, msgs ...string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if m, _ := l["msg"].(string); slices.Contains(msgs, m) {
			out = append(out, l)
		}
	}
	return out
}

// ---- the handler under test ----

type fixture struct {
	h   *webhook.Handler
	rec *fakeRecorder
	log *logBuffer
	mux *http.ServeMux
}

// handlerRules are the rules the handler tests run: the first twelve, whose
// findings the fixtures were written around. The handler's behaviour (decide
// by mode, ratchet, word the answer) is what these tests are about; each
// rule's own findings are validate's to test, and a new rule must not
// change what these tests expect. TestFullRegistry runs every rule.
var handlerRules = []string{
	"cpu-limits", "cpu-requests", "host-namespaces", "host-path", "image-tag", "liveness-probe",
	"memory-limits", "memory-requests", "privilege-escalation", "privileged", "readiness-probe", "run-as-non-root",
}

func rulesByID(t *testing.T, ids ...string) []*validate.Rule {
	t.Helper()
	var out []*validate.Rule
	for _, id := range ids {
		i := slices.IndexFunc(validate.Registry(), func(r *validate.Rule) bool { return r.ID == id })
		if i < 0 {
			t.Fatalf("no rule %q in the registry", id)
		}
		out = append(out, validate.Registry()[i])
	}
	return out
}

// newFixture returns a handler with the built-in policy and handlerRules,
// behind a mux with the server's patterns (so r.PathValue works).
func newFixture(t *testing.T) *fixture {
	t.Helper()
	var p atomic.Pointer[policy.Policy]
	p.Store(policy.Default())
	f := &fixture{rec: &fakeRecorder{}, log: &logBuffer{}}
	f.h = &webhook.Handler{
		Policy:  &p,
		Rules:   rulesByID(t, handlerRules...),
		Log:     newLogger(f.log),
		Metrics: f.rec,
	}
	f.mux = http.NewServeMux()
	f.mux.HandleFunc("/mutate/{mode}", f.h.ServeMutate)
	f.mux.HandleFunc("/validate/{mode}", f.h.ServeValidate)
	return f
}

// answer is what the handler wrote.
type answer struct {
	status      int
	contentType string
	apiVersion  string
	kind        string
	resp        *admissionv1.AdmissionResponse
	raw         []byte
}

// send posts body to path as application/json.
func (f *fixture) send(t *testing.T, path string, body []byte) answer {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return f.do(t, req)
}

// do serves req and decodes the answer, failing the test unless it is a
// well-formed AdmissionReview answered with HTTP 200.
func (f *fixture) do(t *testing.T, req *http.Request) answer {
	t.Helper()
	w := httptest.NewRecorder()
	f.mux.ServeHTTP(w, req)
	return decodeAnswer(t, w.Code, w.Header().Get("Content-Type"), w.Body.Bytes())
}

func decodeAnswer(t *testing.T, status int, contentType string, body []byte) answer {
	t.Helper()
	a := answer{status: status, contentType: contentType, raw: body}
	if status != http.StatusOK {
		t.Fatalf("HTTP status %d, want 200 (the API server reads an AdmissionReview only from a 200)\n%s", status, body)
	}
	if contentType != "application/json" {
		t.Errorf("Content-Type %q, want application/json", contentType)
	}
	var review admissionv1.AdmissionReview
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&review); err != nil {
		t.Fatalf("the answer is not an AdmissionReview: %v\n%.2000s", err, body)
	}
	if review.Response == nil {
		t.Fatalf("the answer has no response:\n%.2000s", body)
	}
	if review.Request != nil {
		t.Errorf("the answer echoes the request back")
	}
	a.apiVersion, a.kind, a.resp = review.APIVersion, review.Kind, review.Response
	if a.kind != "AdmissionReview" {
		t.Errorf("answer kind %q, want AdmissionReview", a.kind)
	}
	return a
}

// code is the status code of the response's result, or 0.
func (a answer) code() int32 {
	if a.resp.Result == nil {
		return 0
	}
	return a.resp.Result.Code
}

func (a answer) message() string {
	if a.resp.Result == nil {
		return ""
	}
	return a.resp.Result.Message
}

// ---- AdmissionReviews built from fixtures ----

// load reads a YAML fixture from testdata as JSON, exactly as written
// (unknown fields and spellings included).
func load(t *testing.T, name string) []byte {
	t.Helper()
	return loadPath(t, filepath.Join("testdata", name))
}

// loadPath reads any YAML file as JSON.
func loadPath(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return j
}

// edit decodes a JSON object, lets fn change it and encodes it again.
func edit(t *testing.T, obj []byte, fn func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(obj, &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// podSpec returns the PodSpec of a decoded Pod or Deployment.
func podSpec(m map[string]any) map[string]any {
	spec := m["spec"].(map[string]any)
	if tpl, ok := spec["template"].(map[string]any); ok {
		return tpl["spec"].(map[string]any)
	}
	return spec
}

const testUID = types.UID("0c6e8a3e-4f1a-4c55-9d1e-2b1d3f7a9b10")

// reviewOf describes one AdmissionReview to send.
type reviewOf struct {
	apiVersion  string // admission.k8s.io/v1 unless set
	uid         types.UID
	op          admissionv1.Operation
	kind        *metav1.GroupVersionKind // from the object unless set
	subResource string
	namespace   string // from the object unless set
	name        string // from the object unless set
	object      []byte
	oldObject   []byte
	dryRun      bool
	username    string // alice@example.com, a tenant, unless set
}

// byController is the review r sent by kube-controller-manager (without
// service-account credentials), which every built-in owner kind trusts.
func (r reviewOf) byController() reviewOf {
	r.username = "system:kube-controller-manager"
	return r
}

// body encodes the AdmissionReview the API server would send.
func (r reviewOf) body(t *testing.T) []byte {
	t.Helper()
	b, err := json.Marshal(r.review(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (r reviewOf) review(t *testing.T) *admissionv1.AdmissionReview {
	t.Helper()
	src := r.object
	if src == nil {
		src = r.oldObject
	}
	var meta struct {
		metav1.TypeMeta
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	if src != nil {
		if err := json.Unmarshal(src, &meta); err != nil {
			t.Fatal(err)
		}
	}
	gvk := schema.FromAPIVersionAndKind(meta.APIVersion, meta.Kind)
	kind := metav1.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind}
	if r.kind != nil {
		kind = *r.kind
	}
	resource := metav1.GroupVersionResource{Group: kind.Group, Version: kind.Version, Resource: strings.ToLower(kind.Kind) + "s"}
	ns, name := meta.Metadata.Namespace, meta.Metadata.Name
	if r.namespace != "" {
		ns = r.namespace
	}
	if r.name != "" {
		name = r.name
	}
	uid, op, apiVersion := r.uid, r.op, r.apiVersion
	if uid == "" {
		uid = testUID
	}
	if op == "" {
		op = admissionv1.Create
	}
	if apiVersion == "" {
		apiVersion = "admission.k8s.io/v1"
	}
	username := r.username
	if username == "" {
		username = "alice@example.com"
	}
	req := &admissionv1.AdmissionRequest{
		UID:         uid,
		Kind:        kind,
		Resource:    resource,
		SubResource: r.subResource,
		Name:        name,
		Namespace:   ns,
		Operation:   op,
		UserInfo:    authenticationv1.UserInfo{Username: username, Groups: []string{"system:authenticated"}},
		DryRun:      &r.dryRun,
	}
	if r.object != nil {
		req.Object = runtime.RawExtension{Raw: r.object}
	}
	if r.oldObject != nil {
		req.OldObject = runtime.RawExtension{Raw: r.oldObject}
	}
	return &admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: "AdmissionReview"},
		Request:  req,
	}
}

// create is the review of a CREATE of obj.
func create(obj []byte) reviewOf { return reviewOf{op: admissionv1.Create, object: obj} }

// update is the review of an UPDATE from old to obj.
func update(old, obj []byte) reviewOf {
	return reviewOf{op: admissionv1.Update, object: obj, oldObject: old}
}

// ---- JSON patches ----

// patchOp is one JSON patch operation, its value decoded.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// patchOps decodes a response's patch, sorted by path.
func patchOps(t *testing.T, resp *admissionv1.AdmissionResponse) []patchOp {
	t.Helper()
	if resp.Patch == nil {
		if resp.PatchType != nil {
			t.Errorf("patchType %q without a patch", *resp.PatchType)
		}
		return nil
	}
	if resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Errorf("patchType %v, want JSONPatch", resp.PatchType)
	}
	var ops []patchOp
	if err := json.Unmarshal(resp.Patch, &ops); err != nil {
		t.Fatalf("the patch is not a JSON patch: %v\n%s", err, resp.Patch)
	}
	sortOps(ops)
	return ops
}

func sortOps(ops []patchOp) {
	slices.SortStableFunc(ops, func(a, b patchOp) int { return strings.Compare(a.Path, b.Path) })
}

// decodeJSON decodes JSON text into generic values, for comparisons.
func decodeJSON(t *testing.T, s []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(s, &v); err != nil {
		t.Fatalf("%v\n%s", err, s)
	}
	return v
}

// asMutated is the Pod fixture name as /mutate leaves it under the built-in
// policy: what reaches /validate in enforce and warn when the mutating
// webhook ran.
func asMutated(t *testing.T, name string) []byte {
	t.Helper()
	return asMutatedWith(t, name, policy.Default().Defaults)
}

// asMutatedWith is asMutated under the defaults d.
func asMutatedWith(t *testing.T, name string, d policy.Defaults) []byte {
	t.Helper()
	pod := &corev1.Pod{}
	if err := json.Unmarshal(load(t, name), pod); err != nil {
		t.Fatal(err)
	}
	tpl, err := workload.Find(pod)
	if err != nil {
		t.Fatal(err)
	}
	mutate.Annotate(&pod.ObjectMeta, mutate.Template(tpl, d))
	out, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// noProbeDefaults are the built-in defaults without probes: a Pod
// defaulted with them still draws the probe rules' warnings.
func noProbeDefaults() policy.Defaults {
	d := policy.Default().Defaults
	d.Probes.Enabled = false
	return d
}
