package kube

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// InformerOptions are those of client-go's informer factory that
// plimsoll uses.
type InformerOptions struct {
	// Resync re-delivers every cached object this often (0: never).
	Resync time.Duration
	// Tweak, when set, edits the options of every List and Watch (a
	// field selector by name).
	Tweak func(*metav1.ListOptions)
	// Transform, when set, edits each object before it is cached.
	Transform cache.TransformFunc
}

// NewInformer returns a shared informer of what r lists and watches,
// indexed by namespace, as the informer factory's of client-go:
// client is the Interface r comes from, which says whether it can serve a
// watch list (a fake cannot).
func NewInformer[E any, T interface {
	*E
	runtime.Object
}, L runtime.Object](client Interface, r Resource[T, L], o InformerOptions) cache.SharedIndexInformer {
	tweak := func(opts *metav1.ListOptions) {
		if o.Tweak != nil {
			o.Tweak(opts)
		}
	}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			tweak(&opts)
			return r.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			tweak(&opts)
			return r.Watch(ctx, opts)
		},
	}
	inf := cache.NewSharedIndexInformerWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, client), T(new(E)),
		cache.SharedIndexInformerOptions{ResyncPeriod: o.Resync, Indexers: cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}})
	if o.Transform != nil {
		_ = inf.SetTransform(o.Transform) // fails only once the informer runs
	}
	return inf
}
