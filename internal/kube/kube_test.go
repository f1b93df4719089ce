package kube_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	"github.com/plimsoll/plimsoll/internal/kube"
	"github.com/plimsoll/plimsoll/internal/kube/kubetest"
)

const (
	protobuf      = "application/vnd.kubernetes.protobuf"
	protobufFirst = "application/vnd.kubernetes.protobuf,application/json"
	jsonType      = "application/json"
)

// seen is one request as the API server saw it.
type seen struct {
	method, path, query, accept, contentType string
}

// answer is what the fake API server answers: an object encoded as
// contentType (JSON or protobuf), with status code.
type answer struct {
	code        int
	contentType string
	obj         runtime.Object
	// stream, when set, is written as is (a watch).
	stream string
}

// apiServer answers every request with a, recording it.
func apiServer(t *testing.T, a answer) (*httptest.Server, func() seen) {
	t.Helper()
	var mu sync.Mutex
	var last seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last = seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Accept"), r.Header.Get("Content-Type")}
		mu.Unlock()
		if a.stream != "" {
			w.Header().Set("Content-Type", jsonType)
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, a.stream)
			return
		}
		w.Header().Set("Content-Type", a.contentType)
		w.WriteHeader(a.code)
		_, _ = w.Write(encode(t, a.obj, a.contentType))
	}))
	t.Cleanup(srv.Close)
	return srv, func() seen {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

// encode writes obj as the API server would, in its group version.
func encode(t *testing.T, obj runtime.Object, contentType string) []byte {
	t.Helper()
	info, ok := runtime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), contentType)
	if !ok {
		t.Fatalf("no serializer for %s", contentType)
	}
	gvks, _, err := scheme.Scheme.ObjectKinds(obj)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := scheme.Codecs.EncoderForVersion(info.Serializer, gvks[0].GroupVersion()).Encode(obj, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func pod(name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team-a"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}}}
}

func TestRequests(t *testing.T) {
	ctx := context.Background()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "plimsoll-tls", Namespace: "plimsoll-system"}, Data: map[string][]byte{"ca.crt": []byte("x")}}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "plimsoll", ResourceVersion: "7"}}
	deployments := &appsv1.DeploymentList{ListMeta: metav1.ListMeta{Continue: "next"},
		Items: []appsv1.Deployment{{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "x"}}, {ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "y"}}}}
	tests := []struct {
		name string
		// config edits the rest.Config (nil: as self-managed TLS builds it).
		config func(*rest.Config)
		answer answer
		call   func(c *kube.Client) (runtime.Object, error)
		want   seen // method, path, query and accept; contentType when set
		check  func(t *testing.T, got runtime.Object, err error)
	}{
		{
			name:   "a Get of a namespaced object asks for protobuf and takes JSON",
			answer: answer{code: 200, contentType: jsonType, obj: pod("web")},
			call: func(c *kube.Client) (runtime.Object, error) {
				return c.Pods("team-a").Get(ctx, "web", metav1.GetOptions{})
			},
			want: seen{method: "GET", path: "/api/v1/namespaces/team-a/pods/web", accept: protobufFirst},
			check: func(t *testing.T, got runtime.Object, err error) {
				if p, _ := got.(*corev1.Pod); err != nil || p.Spec.Containers[0].Image != "nginx:1.27" {
					t.Errorf("got %v, %v", got, err)
				}
			},
		},
		{
			name:   "a List across namespaces carries the limit and continue token and decodes protobuf",
			answer: answer{code: 200, contentType: protobuf, obj: deployments},
			call: func(c *kube.Client) (runtime.Object, error) {
				return c.Deployments("").List(ctx, metav1.ListOptions{Limit: 500, Continue: "abc"})
			},
			want: seen{method: "GET", path: "/apis/apps/v1/deployments", query: "continue=abc&limit=500", accept: protobufFirst},
			check: func(t *testing.T, got runtime.Object, err error) {
				l, _ := got.(*appsv1.DeploymentList)
				if err != nil || len(l.Items) != 2 || l.Items[1].Name != "b" || l.Continue != "next" {
					t.Errorf("got %v, %v", got, err)
				}
			},
		},
		{
			name: "the audit's configuration asks for protobuf, JSON as the fallback",
			config: func(c *rest.Config) {
				c.ContentType = protobuf
				c.AcceptContentTypes = protobufFirst
			},
			answer: answer{code: 200, contentType: protobuf, obj: &batchv1.CronJobList{}},
			call: func(c *kube.Client) (runtime.Object, error) {
				return c.CronJobs("team-a").List(ctx, metav1.ListOptions{Limit: 1})
			},
			want: seen{method: "GET", path: "/apis/batch/v1/namespaces/team-a/cronjobs", query: "limit=1", accept: protobufFirst},
		},
		{
			name:   "a content type of the configuration wins over protobuf",
			config: func(c *rest.Config) { c.ContentType = jsonType },
			answer: answer{code: 200, contentType: jsonType, obj: &batchv1.JobList{}},
			call: func(c *kube.Client) (runtime.Object, error) {
				return c.Jobs("team-a").List(ctx, metav1.ListOptions{})
			},
			want: seen{method: "GET", path: "/apis/batch/v1/namespaces/team-a/jobs", accept: jsonType + ", */*"},
		},
		{
			name:   "a List of a cluster-scoped resource has no namespace",
			answer: answer{code: 200, contentType: protobuf, obj: &admissionregistrationv1.MutatingWebhookConfigurationList{}},
			call: func(c *kube.Client) (runtime.Object, error) {
				return c.MutatingWebhookConfigurations().List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=plimsoll"})
			},
			want: seen{method: "GET", path: "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
				query: "fieldSelector=metadata.name%3Dplimsoll", accept: protobufFirst},
		},
		{
			name:   "a Create posts the object in protobuf",
			answer: answer{code: 201, contentType: protobuf, obj: secret},
			call: func(c *kube.Client) (runtime.Object, error) {
				return c.Secrets("plimsoll-system").Create(ctx, secret, metav1.CreateOptions{})
			},
			want: seen{method: "POST", path: "/api/v1/namespaces/plimsoll-system/secrets", accept: protobufFirst, contentType: protobuf},
			check: func(t *testing.T, got runtime.Object, err error) {
				if s, _ := got.(*corev1.Secret); err != nil || string(s.Data["ca.crt"]) != "x" {
					t.Errorf("got %v, %v", got, err)
				}
			},
		},
		{
			name:   "an Update puts the object by its name, with the field manager",
			answer: answer{code: 200, contentType: jsonType, obj: vwc},
			call: func(c *kube.Client) (runtime.Object, error) {
				return c.ValidatingWebhookConfigurations().Update(ctx, vwc, metav1.UpdateOptions{FieldManager: "plimsoll"})
			},
			want: seen{method: "PUT", path: "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/plimsoll",
				query: "fieldManager=plimsoll", accept: protobufFirst, contentType: protobuf},
		},
		{
			name:   "a refusal is an API error",
			answer: answer{code: 404, contentType: jsonType, obj: &apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "nowhere").ErrStatus},
			call: func(c *kube.Client) (runtime.Object, error) {
				return c.Namespaces().Get(ctx, "nowhere", metav1.GetOptions{})
			},
			want: seen{method: "GET", path: "/api/v1/namespaces/nowhere", accept: protobufFirst},
			check: func(t *testing.T, _ runtime.Object, err error) {
				if !apierrors.IsNotFound(err) {
					t.Errorf("error %v, want NotFound", err)
				}
			},
		},
		{
			name:   "a Watch streams events",
			answer: answer{stream: `{"type":"ADDED","object":{"kind":"StatefulSet","apiVersion":"apps/v1","metadata":{"name":"db","namespace":"team-a"}}}` + "\n"},
			call: func(c *kube.Client) (runtime.Object, error) {
				w, err := c.StatefulSets("team-a").Watch(ctx, metav1.ListOptions{ResourceVersion: "5"})
				if err != nil {
					return nil, err
				}
				defer w.Stop()
				select {
				case ev := <-w.ResultChan():
					return ev.Object, nil
				case <-time.After(10 * time.Second):
					return nil, context.DeadlineExceeded
				}
			},
			want: seen{method: "GET", path: "/apis/apps/v1/namespaces/team-a/statefulsets", query: "resourceVersion=5&watch=true", accept: protobufFirst},
			check: func(t *testing.T, got runtime.Object, err error) {
				if s, _ := got.(*appsv1.StatefulSet); err != nil || s == nil || s.Name != "db" {
					t.Errorf("got %v, %v", got, err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, last := apiServer(t, tt.answer)
			cfg := &rest.Config{Host: srv.URL}
			if tt.config != nil {
				tt.config(cfg)
			}
			c, err := kube.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tt.call(c)
			if tt.check != nil {
				tt.check(t, got, err)
			} else if err != nil {
				t.Fatal(err)
			}
			s := last()
			if tt.want.contentType == "" {
				s.contentType = ""
			}
			if s != tt.want {
				t.Errorf("request\n got %+v\nwant %+v", s, tt.want)
			}
		})
	}
}

// TestTheRateLimitIsShared checks that every group version waits on one
// token bucket, as the clientset's do: the audit's --qps bounds all its
// requests together.
func TestTheRateLimitIsShared(t *testing.T) {
	srv, _ := apiServer(t, answer{code: 200, contentType: jsonType, obj: &corev1.PodList{}})
	c, err := kube.NewForConfig(&rest.Config{Host: srv.URL, QPS: 1, Burst: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	began := time.Now()
	for _, list := range []func() error{
		func() error { _, err := c.Pods("").List(ctx, metav1.ListOptions{}); return err },
		func() error { _, err := c.Deployments("").List(ctx, metav1.ListOptions{}); return err },
		func() error { _, err := c.Jobs("").List(ctx, metav1.ListOptions{}); return err },
	} {
		_ = list() // the answers' kind does not matter here
	}
	if took := time.Since(began); took < 700*time.Millisecond {
		t.Errorf("three requests across three group versions took %v with a burst of 2 at 1/s: the limit is not shared", took)
	}
	if _, err := kube.NewForConfig(&rest.Config{Host: srv.URL, QPS: 1}); err == nil {
		t.Error("a QPS without a burst was accepted")
	}
}

// TestNewInformer runs informers over client-go's fake clientset: each
// List and Watch carries the tweaked options, and objects are cached
// transformed.
func TestNewInformer(t *testing.T) {
	tests := []struct {
		name      string
		resource  func(c kube.Interface) cache.SharedIndexInformer
		objects   []runtime.Object
		wantKeys  []string
		wantQuery string
		check     func(t *testing.T, cached []any)
	}{
		{
			name: "a Secret selected by name in one namespace",
			resource: func(c kube.Interface) cache.SharedIndexInformer {
				return kube.NewInformer(c, c.Secrets("plimsoll-system"), kube.InformerOptions{Tweak: func(o *metav1.ListOptions) {
					o.FieldSelector = fields.OneTermEqualSelector("metadata.name", "plimsoll-tls").String()
				}})
			},
			objects: []runtime.Object{
				&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "plimsoll-tls", Namespace: "plimsoll-system"}},
				&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "plimsoll-tls", Namespace: "elsewhere"}},
			},
			wantKeys:  []string{"plimsoll-system/plimsoll-tls"},
			wantQuery: "metadata.name=plimsoll-tls",
		},
		{
			name: "Pods everywhere, transformed",
			resource: func(c kube.Interface) cache.SharedIndexInformer {
				return kube.NewInformer(c, c.Pods(""), kube.InformerOptions{Transform: func(obj any) (any, error) {
					obj.(*corev1.Pod).Spec = corev1.PodSpec{}
					return obj, nil
				}})
			},
			objects:  []runtime.Object{pod("web"), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "team-b"}}},
			wantKeys: []string{"team-a/web", "team-b/db"},
			check: func(t *testing.T, cached []any) {
				for _, obj := range cached {
					if p := obj.(*corev1.Pod); len(p.Spec.Containers) > 0 {
						t.Errorf("pod %s cached untransformed", p.Name)
					}
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := fake.NewClientset(tt.objects...)
			var mu sync.Mutex
			var selectors []string
			record := func(a k8stesting.Action) (bool, runtime.Object, error) {
				mu.Lock()
				defer mu.Unlock()
				switch a := a.(type) {
				case k8stesting.WatchAction:
					selectors = append(selectors, a.GetWatchRestrictions().Fields.String())
				case k8stesting.ListAction:
					selectors = append(selectors, a.GetListRestrictions().Fields.String())
				}
				return false, nil, nil
			}
			fc.PrependReactor("list", "*", record)
			fc.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
				_, _, _ = record(a)
				return false, nil, nil
			})
			inf := tt.resource(kubetest.Wrap(fc))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go inf.RunWithContext(ctx)
			if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
				t.Fatal("the informer did not sync")
			}
			keys := slices.Sorted(slices.Values(inf.GetStore().ListKeys()))
			if strings.Join(keys, " ") != strings.Join(tt.wantKeys, " ") {
				t.Errorf("cached %v, want %v", keys, tt.wantKeys)
			}
			if tt.check != nil {
				tt.check(t, inf.GetStore().List())
			}
			mu.Lock()
			defer mu.Unlock()
			if len(selectors) == 0 {
				t.Fatal("no List or Watch")
			}
			for _, s := range selectors {
				if s != tt.wantQuery {
					t.Errorf("a List or Watch selected %q, want %q", s, tt.wantQuery)
				}
			}
		})
	}
}
