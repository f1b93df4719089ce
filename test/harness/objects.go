package harness

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Creator is what a typed client of one kind offers to create and delete
// its objects (client-go's ValidatingAdmissionPolicies(), say).
type Creator[T any] interface {
	Create(context.Context, T, metav1.CreateOptions) (T, error)
	Delete(context.Context, string, metav1.DeleteOptions) error
}

// CreateOrDelete creates objs through c (on), or deletes them by name,
// stopping at the first error.
func CreateOrDelete[T metav1.Object](ctx context.Context, on bool, c Creator[T], objs []T) error {
	for _, o := range objs {
		var err error
		if on {
			_, err = c.Create(ctx, o, metav1.CreateOptions{})
		} else {
			err = c.Delete(ctx, o.GetName(), metav1.DeleteOptions{})
		}
		if err != nil {
			return err
		}
	}
	return nil
}
